"""Acceptance: `contrario demo` in a real X11 window under Xvfb (not offscreen), reviewed with real key
events from xdotool: Right, hold Space, G; the verdict must be in the project database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select
from xvfb_session import wait_window, xdotool, xvfb

from core.store.project import Project
from core.store.schema import Annotation


def _verdicts(folder, annotator: str):
    with Project.open(folder) as project, project.session() as s:
        return s.execute(select(Annotation.image_id, Annotation.verdict).where(Annotation.annotator == annotator)).all()


def test_demo_in_a_real_window_is_reviewed_with_the_keyboard(tmp_path):
    folder = tmp_path / "demo"
    with xvfb(1366, 768) as display:
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path / "home"))
        proc = subprocess.Popen([sys.executable, "-m", "core", "demo", "--folder", str(folder), "--annotator", "ci"],
                                env=env, start_new_session=True, stderr=subprocess.PIPE, text=True)
        try:
            window = wait_window(display, "Contrario")
            geometry = xdotool(display, "getwindowgeometry", window)
            time.sleep(2.0)  # first image decoded and shown
            xdotool(display, "windowfocus", "--sync", window)
            xdotool(display, "key", "Right")
            time.sleep(0.5)
            xdotool(display, "keydown", "space")
            time.sleep(1.0)  # held: the X server sends auto-repeats
            xdotool(display, "keyup", "space")
            time.sleep(0.3)
            xdotool(display, "key", "g")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not _verdicts(folder, "ci"):
                time.sleep(0.3)
            assert proc.poll() is None, proc.stderr.read()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    assert _verdicts(folder, "ci") == [(2, "good")]  # the second image: Right moved there, G judged it
    width, height = (int(v) for v in geometry.split("Geometry:")[1].split()[0].split("x"))
    assert width <= 1366 and height <= 768, geometry
