"""Item 1: a project folder is data. A `core/` package planted beside project.sqlite must never be imported,
whether a job's worker is started by the command line or by the workbench, from inside the project folder."""

from __future__ import annotations

import os

from hostile_project import cli, plant_code


def test_training_free_scoring_from_inside_a_project_with_planted_code(scored_project, tmp_path):
    marker = tmp_path / "planted-code-ran"
    plant_code(scored_project, marker)
    out = cli("train", ".", "--training-free", "gabor", "--score", cwd=scored_project)
    assert not marker.exists(), marker.read_text()
    assert out.returncode == 0, out.stderr
    assert "done: scored 4 images" in out.stdout


def test_the_workbench_runs_a_queued_job_without_the_planted_code(scored_project, tmp_path):
    marker = tmp_path / "planted-code-ran"
    plant_code(scored_project, marker)
    queued = cli("infer", ".", "--queue-only", "--json", cwd=scored_project)
    assert queued.returncode == 0, queued.stderr
    out = cli("gui", ".", "--annotator", "eve", "--screenshot", str(tmp_path / "shot.png"), cwd=scored_project)
    assert out.returncode == 0, out.stderr
    assert not marker.exists(), marker.read_text()
    jobs = cli("jobs", ".", cwd=scored_project)
    assert "failed" not in jobs.stdout, jobs.stdout  # done, or requeued by the shutdown: never lost


def test_the_worker_is_started_with_a_safe_path():
    from core.jobs.runner import code_root, worker_command, worker_env

    cmd = worker_command("relative/project", 3)
    assert cmd[1] == "-P" and os.path.isabs(cmd[-2])
    env = worker_env()
    entries = env.get("PYTHONPATH", "").split(os.pathsep)
    assert all(os.path.isabs(p) for p in entries if p) and "" not in entries[:-1]
    assert (code_root() / "core" / "jobs" / "worker.py").is_file()
