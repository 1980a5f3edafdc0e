"""`contrario annotators`: who labelled what and when, from the label revisions (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image as PILImage

from core.cli import main
from core.labels.editing import adjudicate, save_mask
from core.labels.revisions import add_annotation
from core.store.schema import Image


def _labelled_project(new_project, tmp_path):
    """Three images labelled by alice and bob, one of them adjudicated by carol; returns (project, ids, revisions)."""
    from core.io.importer import import_paths

    folder = tmp_path / "tiles"
    folder.mkdir()
    for k in range(3):
        PILImage.fromarray(np.full((32, 32), 100 + k, np.uint8)).save(folder / f"tile_{k}.png")
    project = new_project(tmp_path / "shared")
    import_paths(project, [str(folder)], "lot")
    with project.session() as s:
        ids = [i.id for i in s.query(Image).order_by(Image.id)]
        add_annotation(s, ids[0], "alice", verdict="good")
        add_annotation(s, ids[1], "alice", verdict="good")
        add_annotation(s, ids[0], "bob", verdict="good")
    mask = np.zeros((32, 32), np.uint8)
    mask[4:9, 4:9] = 1
    bob_defect = save_mask(project, ids[1], "bob", mask)
    alice_defect = save_mask(project, ids[1], "alice", mask)  # alice's revision 2 of image 2
    with project.session() as s:
        add_annotation(s, ids[2], "alice", verdict="unsure")
    adjudicated = adjudicate(project, ids[1], [bob_defect, alice_defect], mask, by="carol", method="majority")
    return project, ids, adjudicated


def _run(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_summary_counts_each_annotators_work_and_names_the_adjudicator(new_project, tmp_path, capsys):
    project, ids, _adj = _labelled_project(new_project, tmp_path)
    with project:
        code, out = _run(capsys, "annotators", str(project.root), "--json")
        assert code == 0
        rows = {r["annotator"]: r for r in json.loads(out)}
        assert sorted(rows) == ["adjudicated", "alice", "bob"]
        alice, bob, adj = rows["alice"], rows["bob"], rows["adjudicated"]
        assert (alice["revisions"], alice["images"], alice["current"], alice["masks"]) == (
            4, 3, {"good": 1, "defect": 1, "unsure": 1}, 1)
        assert (bob["revisions"], bob["images"], bob["current"], bob["masks"]) == (2, 2, {"good": 1, "defect": 1}, 1)
        assert (adj["revisions"], adj["by"], adj["sources"]) == (1, ["carol"], {"adjudicated": 1})
        assert alice["sources"] == {"manual": 4}
        first, last = (datetime.fromisoformat(alice[k]) for k in ("first_at", "last_at"))
        assert first.tzinfo is not None and first <= last <= datetime.now(timezone.utc) + timedelta(seconds=5)

        code, out = _run(capsys, "annotators", str(project.root))
        lines = out.splitlines()
        assert lines[0].split()[:3] == ["annotator", "revisions", "images"]
        assert lines[1].startswith("adjudicated (by carol)") and lines[2].split()[:7] == ["alice", "4", "3", "1", "1", "1", "1"]


def test_log_is_the_audit_trail_newest_first_and_filters(new_project, tmp_path, capsys):
    project, ids, adj = _labelled_project(new_project, tmp_path)
    with project:
        code, out = _run(capsys, "annotators", str(project.root), "--log", "--json")
        trail = json.loads(out)
        assert code == 0 and len(trail) == 7
        assert trail[0]["annotation_id"] == adj and trail[0]["by"] == "carol" and len(trail[0]["cites"]) == 2
        assert [e["annotation_id"] for e in trail] == sorted((e["annotation_id"] for e in trail), reverse=True)
        assert all(e["batch"] == "lot" and e["item"].startswith("tile_") for e in trail)

        code, out = _run(capsys, "annotators", str(project.root), "--log", "--json", "--image", str(ids[1]),
                         "--annotator", "alice")
        mine = json.loads(out)
        assert [(e["revision"], e["verdict"], e["mask"]) for e in mine] == [(2, "defect", True), (1, "good", False)]

        code, out = _run(capsys, "annotators", str(project.root), "--log", "--limit", "2")
        lines = out.splitlines()
        assert len(lines) == 2 and "adjudicated (by carol)" in lines[0] and "cites #" in lines[0]
        assert "alice" in lines[1] and "unsure" in lines[1]

        later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        code, out = _run(capsys, "annotators", str(project.root), "--log", "--since", later)
        assert out.strip() == "no label revisions"


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    from core.store.project import Project

    Project.create(tmp_path / "p").close()
    assert main(["annotators", str(tmp_path / "p"), "--limit", "3"]) == 1
    assert "go with --log" in capsys.readouterr().err
    assert main(["annotators", str(tmp_path / "p"), "--log", "--since", "yesterday"]) == 1
    assert "not a date" in capsys.readouterr().err
    assert main(["annotators", str(tmp_path / "p")]) == 0
    assert capsys.readouterr().out.strip() == "no labels yet"
