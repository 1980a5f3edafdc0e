"""`contrario demo`, the README's main job, end to end in a real process: generate, train, score, render."""

import os
import subprocess
import sys

from PIL import Image
from sqlalchemy import func, select

from core.store.project import Project
from core.store.schema import InferenceResult, Job


def test_demo_trains_scores_and_renders_the_highest_scored_image(tmp_path):
    folder, shot = tmp_path / "demo", tmp_path / "demo.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, "-m", "core", "demo", "--folder", str(folder), "--screenshot", str(shot),
                           "--annotator", "ci"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "job 1 train done" in proc.stderr and "infer done: scored 44 images" in proc.stderr

    project = Project.open(folder)
    try:
        with project.session() as s:
            assert sorted(s.execute(select(Job.kind, Job.status)).all()) == [("infer", "done"), ("train", "done")]
            assert s.scalar(select(func.count()).select_from(InferenceResult)) == 44
    finally:
        project.close()
    with Image.open(shot) as im:
        assert im.size[0] > 800 and im.size[1] > 500


def _demo_without_window(tmp_path, **env_changes):
    folder = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(HOME=str(tmp_path / "home"), **env_changes)
    proc = subprocess.run([sys.executable, "-m", "core", "demo", "--folder", str(folder), "--annotator", "ci"],
                          capture_output=True, text=True, env=env, timeout=120)
    return folder, proc


def test_demo_without_a_display_fails_in_one_line_and_queues_nothing(tmp_path):
    folder, proc = _demo_without_window(tmp_path)
    assert proc.returncode != 0
    assert "no display: DISPLAY is not set" in proc.stderr and "--headless" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not folder.exists()  # no project, so no training job left queued


def test_demo_with_an_unreachable_x_server_fails_clearly(tmp_path):
    folder, proc = _demo_without_window(tmp_path, DISPLAY=":87")
    assert proc.returncode != 0
    assert "cannot connect to the X display :87" in proc.stderr
    assert not folder.exists()
