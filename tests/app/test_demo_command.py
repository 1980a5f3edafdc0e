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
