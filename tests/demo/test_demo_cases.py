"""The demo's rendered cases imported into a real SQLite project: views grouped into items, planted masks as
ground truth, one MVTec-layout category per view for `contrario eval`; `contrario demo` refuses bad options."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import select

from core.demo import queue_demo_model
from core.demo.cases import FRUIT, LEATHER_HIDES, create_case_project, views_regex
from core.demo.fruit import CAMERAS
from core.demo.hides import LIGHTS, render_hide
from core.evaluation import discover
from core.io.mvtec import read_mask
from core.store.schema import Annotation, Batch, DefectClass, Image, Item, Job


def _items(project) -> dict[tuple[str, str], dict[str, tuple]]:
    """(batch, item) -> view -> (ground-truth verdict, defect class, mask blob)."""
    out: dict = {}
    with project.session() as s:
        rows = s.execute(select(Batch.name, Item.name, Image.view, Annotation.verdict, DefectClass.name,
                                Annotation.mask_blob)
                         .join(Item, Item.batch_id == Batch.id).join(Image, Image.item_id == Item.id)
                         .join(Annotation, Annotation.image_id == Image.id)
                         .outerjoin(DefectClass, DefectClass.name == Annotation.defect_class)
                         .where(Annotation.annotator == "ground-truth")).all()
    for batch, item, view, verdict, cls, blob in rows:
        out.setdefault((batch, item), {})[view] = (verdict, cls, blob)
    return out


def test_leather_hides_import_as_items_of_five_lights_with_their_masks(tmp_path):
    project = create_case_project(LEATHER_HIDES, tmp_path / "p", seed=2, items=5, size=(320, 240))
    try:
        items = _items(project)
        assert sorted(items) == [("demo-leather-hides/test", f"hide_00{i}") for i in (2, 3, 4)] + [
            ("demo-leather-hides/train", f"hide_00{i}") for i in (0, 1)]
        assert all(sorted(views) == sorted(LIGHTS) for views in items.values())
        assert {v[:2] for k, views in items.items() if k[1] in ("hide_000", "hide_001", "hide_002")
                for v in views.values()} == {("good", None)}
        # hide_003 and hide_004 carry three scratches and three bites, the same mask in every light
        expected = render_hide(2 * 1000 + 3, (240, 320), defects=("scratch",) * 3).mask()
        for view, (verdict, cls, blob) in items[("demo-leather-hides/test", "hide_003")].items():
            assert (verdict, cls) == ("defect", "scratch")
            assert np.array_equal(project.blobs.get_array(blob) > 0, expected), view
        assert {v[1] for v in items[("demo-leather-hides/test", "hide_004")].values()} == {"bite"}
    finally:
        project.close()
    folder = tmp_path / "p" / "demo_images"
    record = json.loads((folder / "defects.json").read_text())
    assert [(d["item"], d["kind"], d["relief"]) for d in record["defects"]] == (
        [("hide_003", "scratch", True)] * 3 + [("hide_004", "bite", True)] * 3)
    category = discover(folder / "by-view" / "grazing-ne")
    assert [p.name for p in category.train] == ["hide_000.png", "hide_001.png"]
    assert sorted(zip(category.defect_type, [p.name for p in category.test])) == [
        ("bite", "hide_004.png"), ("good", "hide_002.png"), ("scratch", "hide_003.png")]
    scratch_mask = category.masks[category.defect_type.index("scratch")]
    assert np.array_equal(read_mask(scratch_mask, (240, 320)), expected)


def test_fruit_imports_as_items_of_three_cameras_and_only_the_view_facing_a_defect_is_defective(tmp_path):
    project = create_case_project(FRUIT, tmp_path / "p", seed=1, items=6, size=(96, 96))
    try:
        items = _items(project)
        assert len(items) == 6 and all(sorted(v) == list(CAMERAS) for v in items.values())
        defective = {(item, view, cls) for (_, item), views in items.items()
                     for view, (verdict, cls, blob) in views.items() if verdict == "defect"}
        # six fruit: 2 defective (a spot facing cam-0, a bruise facing cam-1), 1 good test, 3 to train on
        assert defective == {("fruit_004", "cam-0", "spot"), ("fruit_005", "cam-1", "bruise")}
        blob = items[("demo-fruit/test", "fruit_005")]["cam-1"][2]
        assert 10 < int((project.blobs.get_array(blob) > 0).sum()) < 96 * 96 // 10
        # the ground-truth goods of the train batch are what the demo's training job takes
        job_id = queue_demo_model(project, batch="demo-fruit/train")
        with project.session() as s:
            job = s.get(Job, job_id)
            train_batch = s.scalar(select(Batch.id).where(Batch.name == "demo-fruit/train"))
            assert (job.kind, job.status, job.payload["batch_id"]) == ("train", "queued", train_batch)
    finally:
        project.close()
    assert discover(tmp_path / "p" / "demo_images" / "by-view" / "cam-2").defect_type == ["good"] * 3


def test_views_regex_groups_the_file_names_of_a_case():
    import re

    m = re.search(views_regex(LEATHER_HIDES), "hide_012_grazing-se")
    assert m and (m["item"], m["view"]) == ("hide_012", "grazing-se")
    assert re.search(views_regex(FRUIT), "fruit_001_cam-2")["view"] == "cam-2"
    assert re.search(views_regex(FRUIT), "fruit_001_cam-3") is None


def _demo(tmp_path, *args):
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    return subprocess.run([sys.executable, "-m", "core", "demo", "--folder", str(tmp_path / "d"), "--headless",
                           *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--case", "shoes"], "invalid choice: 'shoes'"),
    (["--case", "leather-hides", "--size", "100x90"], "--size 100x90 is too small for leather-hides"),
    (["--case", "leather-hides", "--size", "big"], "--size must look like WIDTHxHEIGHT"),
    (["--case", "fruit", "--size", "200x100"], "fruit views are square"),
    (["--case", "fruit", "--items", "2"], "--items must be at least 3"),
    (["--items", "5"], "--items and --size apply to --case leather-hides or fruit"),
])
def test_demo_refuses_bad_case_options_in_one_line_before_creating_anything(tmp_path, args, message):
    proc = _demo(tmp_path, *args)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "d").exists()
