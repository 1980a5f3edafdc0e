"""Item 3, when there is no backup: `check --repair --rebuild` makes a new database from the readable rows of a
damaged one, keeps the damaged file, and says what was lost."""

from __future__ import annotations

import json
import re
import sqlite3

from hostile_project import cli, damage_page, file_digest

from core.store.project import Project

TABLES = ("project_settings", "batches", "items", "images", "annotations", "model_revisions", "jobs",
          "inference_results", "regions")


def _counts(db) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def test_a_damaged_table_is_rebuilt_from_what_is_readable(scored_project):
    db = scored_project / "project.sqlite"
    before = _counts(db)
    assert before["images"] == 4 and before["inference_results"] == 4
    damage_page(db, table="images")
    damaged = file_digest(db)
    assert cli("info", ".", cwd=scored_project).returncode == 1  # refused before the rebuild

    plain = cli("check", ".", "--rebuild", cwd=scored_project)
    assert plain.returncode == 2 and "--repair" in plain.stderr and file_digest(db) == damaged

    out = cli("check", ".", "--repair", "--rebuild", "--json", cwd=scored_project)
    assert "Traceback" not in out.stderr and "backup" in out.stderr and "better" in out.stderr, out.stderr
    rebuild = json.loads(out.stdout)["rebuild"]
    tables = rebuild["tables"]
    assert tables["images"] == {"kept": 0, "lost": 4, "dropped": 0}  # its root page is gone
    # rows naming a lost image cannot stay: counted as dropped
    assert tables["inference_results"]["dropped"] == 4 and tables["annotations"]["dropped"] == 2
    assert rebuild["rows_lost"] == 4 + 4 + 2 + tables["regions"]["dropped"]
    after = _counts(db)
    for table in ("project_settings", "batches", "items", "model_revisions", "jobs"):
        assert after[table] == before[table] == tables[table]["kept"], table
    kept = scored_project / rebuild["damaged_copy"].rsplit("/", 1)[1]
    assert file_digest(kept) == damaged  # the damaged file, byte for byte
    with Project.open(scored_project) as project:  # opens: the new database is whole
        assert project.check_database().finished and not project.check_database().damaged
        assert project.get_setting("name") is not None
    assert cli("info", ".", cwd=scored_project).returncode == 0


def test_rebuild_leaves_an_undamaged_database_alone(scored_project):
    db = scored_project / "project.sqlite"
    before = file_digest(db)
    out = cli("check", ".", "--repair", "--rebuild", "--no-files", cwd=scored_project)
    assert out.returncode == 0 and "no problems found" in out.stdout, out.stdout + out.stderr
    assert file_digest(db) == before and not list(scored_project.glob("project.sqlite.damaged-*"))


def test_rows_around_a_damaged_leaf_page_are_kept(tmp_path):
    from core.store.rebuild import rebuild_database

    Project.create(tmp_path / "p").close()
    db = tmp_path / "p" / "project.sqlite"
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany("INSERT INTO project_settings (key, value) VALUES (?, ?)",
                         ((f"row-{i:05d}", f'"{"v" * 120}"') for i in range(3000)))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM project_settings").fetchone()[0]
    conn.close()
    data = db.read_bytes()
    hits = [m.start() for m in re.finditer(b"row-01500", data)]  # in the table and in its key index
    start = next(s for s in (i // page_size * page_size for i in hits) if data[s] == 0x0D)  # a table leaf page
    damaged = bytearray(data)
    damaged[start:start + 16] = b"\xff" * 16  # the leaf's header: none of its cells can be read
    db.write_bytes(bytes(damaged))

    report = rebuild_database(tmp_path / "p")
    settings = report.tables["project_settings"]
    assert 0 < settings.lost < 100 and settings.kept + settings.lost == total  # one leaf's rows, counted
    conn = sqlite3.connect(db)
    keys = {k for (k,) in conn.execute("SELECT key FROM project_settings")}
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert "row-00000" in keys and "row-02999" in keys and "row-01500" not in keys
    assert report.damaged_copy.read_bytes() == bytes(damaged)


def test_a_database_with_nothing_readable_is_left_as_it_was(scored_project):
    db = scored_project / "project.sqlite"
    data = bytearray(db.read_bytes())
    data[:100] = b"\x00" * 100  # the header: not a database any more
    db.write_bytes(bytes(data))
    out = cli("check", ".", "--repair", "--rebuild", cwd=scored_project)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "no row of any table can be read" in out.stderr and "backup" in out.stderr, out.stderr
    assert db.read_bytes() == bytes(data) and not list(scored_project.glob("project.sqlite.*-*"))
