"""Every command run against a hostile project: code planted beside the database, hash and path values that
lead outside it, and (second project) a damaged B-tree page. Nothing planted may run, nothing may be written
or read outside the project, and every command ends in a clear message, never a traceback."""

from __future__ import annotations

import pytest
from hostile_project import SECRET, cli, damage_page, file_digest, plant_code, plant_path_values, write_images


def commands(project, work):
    """(name, argv) of every command, in an order where each one can run."""
    return [
        ("info", ["info", "."]),
        ("jobs", ["jobs", "."]),
        ("findings", ["findings", "."]),
        ("import", ["import", ".", str(work / "new"), "--batch", "more"]),
        ("train-free", ["train", ".", "--training-free", "gabor", "--score"]),
        ("infer", ["infer", "."]),
        ("jobs-run", ["jobs", ".", "--run"]),
        ("export-coco", ["export", ".", "--format", "coco", "--out", str(work / "out-coco")]),
        ("export-mvtec", ["export", ".", "--format", "mvtec", "--out", str(work / "out-mvtec")]),
        ("export-csv", ["export", ".", "--format", "csv", "--out", str(work / "out-csv")]),
        ("export-report", ["export", ".", "--format", "report", "--out", str(work / "out-report")]),
        ("check", ["check", "."]),
        ("backup", ["backup", ".", str(work / "backup")]),
        ("gui", ["gui", ".", "--annotator", "eve", "--screenshot", str(work / "shot.png")]),
    ]


def _no_traceback(out) -> None:
    assert "Traceback" not in out.stderr and "Error:" not in out.stderr.replace("error:", ""), out.stderr


@pytest.mark.slow
def test_every_command_on_a_hostile_project(scored_project, tmp_path):
    project, work = scored_project, scored_project.parent
    marker, outside = tmp_path / "planted-code-ran", tmp_path / "outside"
    outside.mkdir()
    plant_code(project, marker)
    plant_path_values(project, outside, tmp_path / "secret.txt")
    write_images(work / "new", n=2, seed=7)
    failures = []
    for name, argv in commands(project, work):
        out = cli(*argv, cwd=project)
        _no_traceback(out)
        if out.returncode not in (0, 1):
            failures.append(f"{name}: exit {out.returncode}: {out.stderr[-300:]}")
        if marker.exists():
            failures.append(f"{name}: planted code ran ({marker.read_text()})")
            marker.unlink()
        if list(outside.iterdir()):
            failures.append(f"{name}: wrote outside the project: {sorted(p.name for p in outside.iterdir())}")
    assert not failures, "\n".join(failures)
    exported = [p for p in work.glob("out-*/**/*") if p.is_file()]
    assert exported and not any(SECRET in p.read_bytes() for p in exported)
    assert (work / "shot.png").is_file() and (work / "backup" / "project.sqlite").is_file()


@pytest.mark.slow
def test_every_command_on_a_damaged_project_says_so_in_one_line_and_writes_nothing(scored_project, tmp_path):
    project, work = scored_project, scored_project.parent
    marker = tmp_path / "planted-code-ran"
    plant_code(project, marker)
    damage_page(project / "project.sqlite")
    before = file_digest(project / "project.sqlite")
    write_images(work / "new", n=2, seed=7)
    for name, argv in commands(project, work):
        out = cli(*argv, cwd=project)
        _no_traceback(out)
        assert out.returncode == 1, (name, out.stdout, out.stderr)
        if name not in ("check", "backup"):
            errors = [line for line in out.stderr.splitlines() if line.startswith("contrario ")]
            assert len(errors) == 1 and "damaged" in errors[0] and "backup" in errors[0], (name, out.stderr)
        assert not marker.exists(), name
    assert file_digest(project / "project.sqlite") == before
