"""Save screenshots of the workbench's main states to resources/screenshots/ (offscreen).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_screenshots.py
The demo project is scored with tests/app/fixture_results.py (stand-in for the scoring jobs).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "app"))
OUT = ROOT / "resources" / "screenshots"


def main() -> None:
    from fixture_results import score_images

    from app.main import ensure_app
    from app.main_window import MainWindow
    from core.demo import create_demo_project

    app = ensure_app()
    with tempfile.TemporaryDirectory() as tmp:
        project = create_demo_project(Path(tmp) / "demo", seed=0)
        project.set_setting("active_model_revision", score_images(project))
        w = MainWindow(annotator="demo")
        w.resize(1440, 900)
        w.show()
        w.set_project(project)
        w.wait_idle()
        for pos, verdict in ((0, "good"), (1, "good"), (2, "good"), (3, "defect"), (4, "good"), (5, "unsure")):
            w.show_position(pos)
            w.set_verdict(verdict, advance=False)
        OUT.mkdir(parents=True, exist_ok=True)

        w.set_gallery_mode(True)
        w.show_position(0)
        w.wait_idle()
        w.grab().save(str(OUT / "gallery.png"))
        w.set_gallery_mode(False)

        w.set_sort("score_desc")
        w.show_position(0)
        w.set_k(4.0)
        w.wait_idle()
        w.grab().save(str(OUT / "canvas_overlay_regions.png"))

        w.set_sort("import")
        multi = [i for i in range(w.model.rowCount()) if w.model.row_at(i).view]
        strongest = min(multi, key=lambda i: w.model.row_at(i).best_log10_nfa or 0.0)
        pos = w.model.position_of(w.item_images[w.model.row_at(strongest).item_id][0])
        w.show_position(pos)
        w.wait_idle()
        w.grab().save(str(OUT / "multiview.png"))

        w.help.toggle()
        app.processEvents()
        w.grab().save(str(OUT / "help_overlay.png"))
        w.help.toggle()
        w.close()
    for p in sorted(OUT.glob("*.png")):
        print(p.relative_to(ROOT))


if __name__ == "__main__":
    main()
