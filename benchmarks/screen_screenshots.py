"""The workbench in a real X11 window (Xvfb, no window manager) on a 1366 x 768 laptop screen and a
1280 x 720 projector, with the model revisions panel open: screenshots of the whole screen to
resources/screenshots/screen_<W>x<H>.png and a list of cut or overlapping texts (none expected).

Run: .venv/bin/python benchmarks/screen_screenshots.py [--project DIR]
(DIR: a scored project, e.g. from `contrario demo --headless`; default: the demo with stand-in results.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "app"))
OUT = ROOT / "resources" / "screenshots"
SIZES = ((1366, 768), (1280, 720))


def review_demo(project) -> None:
    """Label the demo's other leather and tile images as a reviewer would (the generator plants a defect in
    every fourth one), so the revisions panel has labelled images outside the training set to measure on."""
    from sqlalchemy import select

    from core.labels.revisions import add_annotation
    from core.store.schema import Annotation, Image, Item

    with project.session() as s:
        labelled = set(s.scalars(select(Annotation.image_id)))
        for image_id, name in s.execute(select(Image.id, Item.name).join(Item).where(Image.view == "")):
            if image_id not in labelled and name.rsplit("_", 1)[-1].isdigit():
                verdict = "defect" if int(name.rsplit("_", 1)[1]) % 4 == 3 else "good"
                add_annotation(s, image_id, "reviewer", verdict=verdict)


def child(size: tuple[int, int], project_dir: str | None, out: Path) -> int:
    from PySide6 import QtCore

    from app.layout import cut_or_overlapping
    from app.main import ensure_app
    from app.main_window import MainWindow
    from core.store.project import Project

    app = ensure_app()
    with tempfile.TemporaryDirectory() as tmp:
        if project_dir:
            shutil.copytree(project_dir, Path(tmp) / "p")
            project = Project.open(Path(tmp) / "p")
            review_demo(project)
        else:
            from fixture_results import score_images

            from core.demo import confirm_demo_goods, create_demo_project

            project = create_demo_project(Path(tmp) / "p", seed=0)
            confirm_demo_goods(project)
            project.set_setting("active_model_revision", score_images(project))
        settings = QtCore.QSettings(str(Path(tmp) / "settings.ini"), QtCore.QSettings.Format.IniFormat)
        w = MainWindow(annotator="demo", settings=settings)
        w.show()
        w.set_project(project)
        w.set_sort("score_desc")
        w.show_position(0)
        w.training.dock.show()
        w.wait_idle()
        for _ in range(40):  # revision figures are computed off the GUI thread
            app.processEvents()
            QtCore.QThread.msleep(50)
        w.wait_idle()
        app.primaryScreen().grabWindow(0).save(str(out))
        problems = cut_or_overlapping(w)
        print(f"{size[0]}x{size[1]}: window {w.width()}x{w.height()} (minimum {w.minimumSizeHint().width()}x"
              f"{w.minimumSizeHint().height()}); cut or overlapping: {problems or 'none'}; saved {out}")
        w.close()
    return 1 if problems or w.width() > size[0] or w.height() > size[1] else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        w, h = (int(v) for v in args.child.split("x"))
        return child((w, h), args.project, OUT / f"screen_{w}x{h}.png")
    from xvfb_session import xvfb

    OUT.mkdir(parents=True, exist_ok=True)
    rc = 0
    for w, h in SIZES:
        with xvfb(w, h) as display:
            env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
            cmd = [sys.executable, __file__, "--child", f"{w}x{h}"] + (["--project", args.project] if args.project else [])
            rc |= subprocess.run(cmd, env=env).returncode
    return rc


if __name__ == "__main__":
    sys.exit(main())
