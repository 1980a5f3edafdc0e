"""A per-view revision is listed with one entry per view (its training images, calibration and figures on that
view's images), in `contrario models` and as child rows of the revisions panel; the train dialog offers the
view modes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from core.cli import main
from core.domain.view_modes import PER_VIEW_FORMAT
from core.io.importer import import_paths
from core.labels.revisions import add_annotation
from core.models import revisions as revs
from core.store.project import Project
from core.store.schema import DatasetRevision, Image, InferenceResult, ModelRevision, Region

VIEWS = r"^(?P<item>.+)_(?P<view>diffuse|grazing)$"


@pytest.fixture
def project(tmp_path):
    """Four two-view items; a per-view revision trained on items 0-1 scored every image: on the diffuse view
    it finds the defect of item 3, on the grazing view it misses it and flags good item 2."""
    folder = tmp_path / "src"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        for view in ("diffuse", "grazing"):
            PILImage.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(folder / f"it{i}_{view}.png")
    project = Project.create(tmp_path / "project")
    import_paths(project, [str(folder)], "lot", views_regex=VIEWS, workers=1)
    with project.session() as s:
        ids = {(i.item.name, i.view): i.id for i in s.scalars(select(Image))}
        for (item, view), iid in ids.items():
            add_annotation(s, iid, "alice", verdict="defect" if item == "it3" else "good")
        ds = DatasetRevision(image_ids=[ids[("it0", v)] for v in ("diffuse", "grazing")] + [ids[("it1", "diffuse")]],
                             fingerprint="x")
        s.add(ds)
        s.flush()
        cal = {"diffuse": {"ok": True, "warnings": [], "scales": [{"channels": 40, "mean_z2": 1.01, "ks": 0.02}]},
               "grazing": {"ok": False, "warnings": ["scale 0 (40 channels): mean z^2 = 1.40"], "scales": []}}
        rev = ModelRevision(kind="uflow", name="U-Flow per view", dataset_revision_id=ds.id, backbone="b",
                            config={"format": PER_VIEW_FORMAT, "views": ["diffuse", "grazing"],
                                    "models": {"diffuse": {"config": {"scale_context": False}},
                                               "grazing": {"config": {"scale_context": True}}},
                                    "config": {"input_size": 64}, "backbone": "b"},
                            calibration={"ok": False, "warnings": [], "scales": [], "views": cal},
                            figures={"training": {"views": {"diffuse": {"n_images": 2, "n_holdout": 0,
                                                                        "scale_context_chosen": True,
                                                                        "layout_check": {"tiles": True}},
                                                            "grazing": {"n_images": 1, "n_holdout": 0}}}})
        s.add(rev)
        s.flush()
        flagged = {("it3", "diffuse"), ("it2", "grazing")}
        for (item, view), iid in ids.items():
            res = InferenceResult(image_id=iid, model_revision_id=rev.id, score=0.9 if (item, view) in flagged else 0.1)
            s.add(res)
            s.flush()
            if (item, view) in flagged:
                s.add(Region(result_id=res.id, label=1, log10_nfa=-4.0, area=4, x0=0, y0=0, x1=2, y1=2, scale=0))
    yield project
    project.close()


def test_a_per_view_revision_lists_each_view_with_its_figures(project, capsys):
    info = revs.list_revisions(project)[0]
    assert info.view_mode == "per_view" and info.views == ("diffuse", "grazing")
    assert [(v.view, v.n_train, v.calibration_ok, v.n_results) for v in info.per_view] == \
        [("diffuse", 2, True, 4), ("grazing", 1, False, 4)]
    assert [(v.scale_context, v.scale_context_chosen, v.layout_sample) for v in info.per_view] == \
        [(False, True, "tiles"), (True, False, None)]  # each view's own layout
    diffuse = revs.revision_figures(project, info.id, k=2.0, view="diffuse")
    grazing = revs.revision_figures(project, info.id, k=2.0, view="grazing")
    assert (diffuse.n_scored, diffuse.defect_flagged, diffuse.good_flagged) == (4, 1.0, 0.0)
    assert (grazing.n_scored, grazing.defect_flagged, grazing.good_flagged) == (4, 0.0, 0.5)

    assert main(["models", str(project.root), "--k", "2", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["revisions"][0]
    assert [(v["view"], v["figures"]["defect_flagged"]) for v in entry["per_view"]] == [("diffuse", 1.0), ("grazing", 0.0)]
    assert [(v["scale_context"], v["layout_sample"]) for v in entry["per_view"]] == [(False, "tiles"), (True, None)]
    assert entry["scale_context"] is None  # no layout of its own: one per view
    assert main(["models", str(project.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("view diffuse" in line for line in lines) and any("view grazing" in line for line in lines)


def test_the_revisions_panel_shows_one_row_per_view_with_that_views_figures(project, qtbot):
    from app.training.revisions_panel import RevisionsPanel

    panel = RevisionsPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.figuresReady, timeout=30_000):
        panel.set_project(project)
    top = panel.tree.topLevelItem(0)
    assert [top.child(i).text(0) for i in range(top.childCount())] == ["view diffuse", "view grazing"]
    assert [top.child(i).text(2) for i in range(top.childCount())] == ["ok", "off"]
    with qtbot.waitSignal(panel.figuresReady, timeout=30_000) as got:
        panel.tree.setCurrentItem(top.child(1))
    assert panel.selected_id() == revs.list_revisions(project)[0].id and panel.selected_view() == "grazing"
    assert got.args[0].n_scored == 4 and got.args[0].defect_flagged == 0.0
    assert "view grazing" in panel.figure_table.horizontalHeaderItem(0).text()
    assert ("One model per view: diffuse, one flow per scale (every flip and turn of tile-sized windows of the images "
            "looked normal); grazing, U shape") in panel.details.text()
    panel.wait()


def test_the_train_dialog_offers_per_view_or_stacked_training_not_both(project, qtbot):
    from app.training.train_dialog import TrainDialog

    dialog = TrainDialog(project)
    qtbot.addWidget(dialog)
    assert dialog.views_mode() is None
    dialog.per_view.setChecked(True)
    assert dialog.payload()["views"] == "per_view"
    dialog.stack_views.setChecked(True)
    assert not dialog.per_view.isChecked() and dialog.payload()["views"] == "stacked"
    assert dialog.start_box.findData(revs.list_revisions(project)[0].id) < 0  # not offered for fine-tuning


def test_a_long_revision_name_does_not_widen_the_revisions_panel(project, qtbot):
    """The dock opens at a third of the window: a per-view revision's name, which lists its views, must not make
    the panel wider than that (the details would then scroll sideways instead of wrapping)."""
    from app.training.revisions_panel import RevisionsPanel

    with project.session() as s:
        rev = s.scalars(select(ModelRevision)).one()
        rev.name = "U-Flow on 15 images, one model per view (" + ", ".join(f"grazing-{i}" for i in range(12)) + ")"
    panel = RevisionsPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.figuresReady, timeout=30_000):
        panel.set_project(project)
    assert panel.compare_box.count() == 1 and "grazing-11" in panel.compare_box.itemText(0)
    assert panel.minimumSizeHint().width() <= 1366 // 3
    panel.wait()
