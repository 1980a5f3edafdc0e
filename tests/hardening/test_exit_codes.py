"""Item 5: exit codes and messages say what happened, on one line, without tracebacks."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

from hostile_project import REPO, cli, write_images


def test_import_of_a_missing_path_exits_non_zero_naming_it(scored_project, tmp_path):
    out = cli("import", ".", str(tmp_path / "nowhere"), "--batch", "x", cwd=scored_project)
    assert out.returncode == 1
    assert f"named nothing or could not be read ({tmp_path / 'nowhere'})" in out.stderr


def test_import_where_every_file_fails_exits_non_zero(scored_project, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = cli("import", ".", str(tmp_path / "bad"), "--batch", "x", cwd=scored_project)
    assert out.returncode == 1 and "every one of the 1 files failed" in out.stderr, out.stderr


def test_a_re_import_that_adds_nothing_new_is_no_error(scored_project):
    out = cli("import", ".", str(scored_project.parent / "images"), "--batch", "lot", cwd=scored_project)
    assert out.returncode == 0 and "4 already in the project" in out.stdout, out.stderr


def test_an_unreadable_folder_argument_is_one_line(scored_project, tmp_path):
    locked = tmp_path / "locked"
    write_images(locked, n=1)
    locked.chmod(0)
    try:
        out = cli("import", str(scored_project), str(locked), "--batch", "x", cwd=tmp_path, drop_root=True)
    finally:
        locked.chmod(0o755)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and "permission denied" in out.stdout, (out.stdout, out.stderr)


def test_an_unreadable_sub_folder_is_reported_not_skipped(scored_project, tmp_path):
    top = tmp_path / "top"
    write_images(top, n=1, seed=3)
    write_images(top / "secret", n=1, seed=4)
    (top / "secret").chmod(0)
    try:
        out = cli("import", str(scored_project), str(top), "--batch", "x", "--json", cwd=tmp_path, drop_root=True)
    finally:
        (top / "secret").chmod(0o755)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert report["added"] == 1
    assert report["not_read"] == [{"path": str(top / "secret"), "reason": "folder not read: permission denied"}]


def test_a_newline_in_a_file_name_stays_on_its_line(scored_project, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "evil\nfailed: fake.png").write_bytes(b"not an image")
    out = cli("import", ".", str(tmp_path / "in"), "--batch", "x", cwd=scored_project)
    failed = [line for line in out.stdout.splitlines() if line.startswith("failed:")]
    assert failed == [f"failed: {tmp_path / 'in'}/evil\\nfailed: fake.png: not an image (unknown or unsupported format)"]


def test_a_closed_pipe_is_no_traceback(scored_project):
    proc = subprocess.Popen([sys.executable, "-P", "-m", "core", "jobs", "."], cwd=scored_project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    proc.stdout.close()  # like `| head` that has read enough
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_a_crashed_job_is_listed_as_requeued_not_running(scored_project):
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    conn = sqlite3.connect(scored_project / "project.sqlite")
    with conn:
        conn.execute("UPDATE jobs SET status = 'running', pid = ?, heartbeat_at = ?, started_at = ?",
                     (dead.pid, now, now))
    conn.close()
    out = cli("jobs", ".", cwd=scored_project)
    assert out.returncode == 0
    assert "running" not in out.stdout and "requeued: its worker process was gone" in out.stdout, out.stdout


def test_a_screenshot_run_exits_cleanly_and_keeps_its_queued_job(scored_project, tmp_path):
    assert cli("infer", ".", "--queue-only", cwd=scored_project).returncode == 0
    out = cli("gui", ".", "--annotator", "eve", "--screenshot", str(tmp_path / "shot.png"), cwd=scored_project)
    assert out.returncode == 0 and (tmp_path / "shot.png").is_file(), out.stderr
    assert "Signal source has been deleted" not in out.stderr and "Traceback" not in out.stderr, out.stderr
    jobs = json.loads(cli("jobs", ".", "--json", cwd=scored_project).stdout)
    assert jobs[0]["status"] in ("done", "queued"), jobs[0]
