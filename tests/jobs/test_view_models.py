"""Per-view and stacked (multi-light) U-Flow revisions on a real project, trained and scored by real workers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from scipy import ndimage
from sqlalchemy import select

from core.domain.images import readable_images
from core.io.importer import import_paths
from core.jobs import queue
from core.jobs.infer_job import submit_in_chunks
from core.jobs.payloads import infer_payload, train_payload
from core.jobs.runner import run_in_worker
from core.labels.revisions import add_annotation
from core.models.revisions import list_revisions
from core.store.project import Project
from core.store.schema import Image, InferenceResult, ModelRevision, Region

TINY = dict(input_size=64, train_steps=6, batch_size=4, hidden_ratio=0.25, flow_steps=2,
            strides=[8, 16], tiling=False)
VIEWS = r"^(?P<item>.+)_(?P<view>diffuse|grazing|backlight)$"
SIDE = 64


def _texture(view: str, seed: int, shape=(SIDE, SIDE)) -> np.ndarray:
    """Two very different textures: a flat, faintly grainy diffuse view and a coarse, high-contrast grazing one."""
    rng = np.random.default_rng(seed)
    if view == "diffuse":
        return (150 + ndimage.gaussian_filter(rng.normal(0.0, 4.0, shape), 1.0)).clip(0, 255).astype(np.uint8)
    stripes = 60 * np.sin(np.arange(shape[1]) / 2.0)[None, :]
    return (110 + stripes + rng.normal(0.0, 35.0, shape)).clip(0, 255).astype(np.uint8)


def _write_item(folder: Path, item: str, seed: int, views=("diffuse", "grazing"), shapes=None) -> None:
    for n, view in enumerate(views):
        shape = (shapes or {}).get(view, (SIDE, SIDE))
        PILImage.fromarray(_texture(view, seed * 10 + n, shape)).save(folder / f"{item}_{view}.png")


def _project(tmp_path, train_items, test_items=(), shapes=None, extra=()) -> Project:
    """Batch "train" (every image labelled good) and batch "test"; `extra`: (item, views) added to "test"."""
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    for n, item in enumerate(train_items):
        _write_item(tmp_path / "train", item, n, shapes=(shapes or {}).get(item))
    for n, item in enumerate(test_items):
        _write_item(tmp_path / "test", item, 100 + n)
    for n, (item, views) in enumerate(extra):
        _write_item(tmp_path / "test", item, 200 + n, views=views)
    project = Project.create(tmp_path / "project")
    import_paths(project, [str(tmp_path / "train")], "train", views_regex=VIEWS)
    import_paths(project, [str(tmp_path / "test")], "test", views_regex=VIEWS)
    with project.session() as s:
        for image in s.scalars(select(Image).where(Image.original_path.contains("/train/"))):
            add_annotation(s, image.id, "alice", verdict="good")
    return project


def _train(project, views: str):
    payload = train_payload(project, batch="train", views=views)
    payload["config"].update(TINY)
    return run_in_worker(project, queue.submit(project, "train", payload), threads=1)


def _infer(project, revision: int):
    view = run_in_worker(project, queue.submit(project, "infer", infer_payload(project, batch="test",
                                                                              revision=revision)), threads=1)
    assert view.status == "done", view.message
    return view


def _test_images(project) -> dict[str, list]:
    with project.session(readonly=True) as s:
        refs = readable_images(s, batch_id=2)
    out: dict[str, list] = {}
    for ref in refs:
        out.setdefault(ref.view, []).append(ref)
    return out


def test_per_view_revision_scores_each_image_with_its_own_view_model(tmp_path):
    from core.io.images import read_image
    from core.jobs.scorers import load_per_view

    project = _project(tmp_path, [f"hide{i}" for i in range(4)], ["new0", "new1"],
                       extra=[("odd", ("backlight",))])
    try:
        trained = _train(project, "per_view")
        assert trained.status == "done", trained.message
        rev_id = trained.result["model_revision_id"]
        assert trained.result["views"] == ["diffuse", "grazing"]
        with project.session(readonly=True) as s:
            rev = s.get(ModelRevision, rev_id)
            assert rev.config["views"] == ["diffuse", "grazing"] and set(rev.config["models"]) == {"diffuse", "grazing"}
            assert set(rev.calibration["views"]) == {"diffuse", "grazing"}
        assert [(v.view, v.n_train) for v in list_revisions(project)[0].per_view] == [("diffuse", 4), ("grazing", 4)]

        scored = _infer(project, rev_id)
        assert scored.result["scored"] == 4
        assert [r["file"] for r in scored.result["not_scorable"]] == ["odd_backlight.png"]
        assert "odd_backlight.png" in scored.message
        with project.session(readonly=True) as s:
            stored = dict(s.execute(select(InferenceResult.image_id, InferenceResult.score)
                                    .where(InferenceResult.model_revision_id == rev_id)).all())
        test = _test_images(project)
        assert test["backlight"][0].id not in stored

        models = load_per_view(project, rev_id).models
        for view, other in (("diffuse", "grazing"), ("grazing", "diffuse")):
            pixels = [read_image(ref.original_path).pixels for ref in test[view]]
            own = [p.score for p in models[view].predict(pixels)]
            foreign = [p.score for p in models[other].predict(pixels)]
            assert [stored[ref.id] for ref in test[view]] == pytest.approx(own, abs=1e-5)
            assert max(own) < min(foreign), (view, own, foreign)  # the other view's model finds them abnormal
    finally:
        project.close()


def test_stacked_training_refuses_views_of_different_sizes(tmp_path):
    project = _project(tmp_path, ["hide0", "hide1", "hide2"], shapes={"hide1": {"grazing": (SIDE, SIDE + 8)}})
    try:
        failed = _train(project, "stacked")
        assert failed.status == "failed"
        assert "hide1_grazing.png" in failed.message and "hide1_diffuse.png" in failed.message
        with project.session(readonly=True) as s:
            assert s.scalars(select(ModelRevision)).first() is None
    finally:
        project.close()


def test_stacked_training_refuses_an_item_without_one_of_the_views(tmp_path):
    project = _project(tmp_path, ["hide0", "hide1"])
    try:
        _write_item(tmp_path / "train", "hide9", 9, views=("diffuse",))
        import_paths(project, [str(tmp_path / "train" / "hide9_diffuse.png")], "train", views_regex=VIEWS)
        with project.session() as s:
            image = s.scalars(select(Image).where(Image.original_path.contains("hide9"))).one()
            add_annotation(s, image.id, "alice", verdict="good")
        failed = _train(project, "stacked")
        assert failed.status == "failed"
        assert "'hide9'" in failed.message and "grazing" in failed.message
    finally:
        project.close()


def test_stacked_revision_stores_one_result_on_every_view_of_an_item(tmp_path):
    project = _project(tmp_path, [f"hide{i}" for i in range(4)], ["new0", "new1"],
                       extra=[("half", ("diffuse",))])
    try:
        spotted = tmp_path / "test" / "new1_diffuse.png"  # a bright spot on one light of one item (re-imported)
        pixels = np.array(PILImage.open(spotted))
        pixels[20:40, 24:44] = 255
        PILImage.fromarray(pixels).save(spotted)
        with project.session() as s:
            s.delete(s.scalars(select(Image).where(Image.original_path == str(spotted))).one())
        import_paths(project, [str(spotted)], "test", views_regex=VIEWS)
        trained = _train(project, "stacked")
        assert trained.status == "done", trained.message
        rev_id = trained.result["model_revision_id"]
        with project.session(readonly=True) as s:
            rev = s.get(ModelRevision, rev_id)
            assert rev.config["views"] == ["diffuse", "grazing"] and rev.config["config"]["stack_views"] == 2
            assert rev.config["channels"] == [2 * 40, 2 * 112]  # lite0's channels at strides 8 and 16, twice
        # Chunks for several workers end at an item's last view: no two chunks score one item.
        parent = submit_in_chunks(project, infer_payload(project, batch="test", revision=rev_id), chunk_images=3)
        chunks = queue.children(project, parent)
        with project.session(readonly=True) as s:
            item_of = dict(s.execute(select(Image.id, Image.item_id)).all())
        items_per_chunk = [{item_of[i] for i in c.payload["image_ids"]} for c in chunks]
        assert [len(c.payload["image_ids"]) for c in chunks] == [3, 2]  # "half" (1 view) + new0, then new1
        assert not items_per_chunk[0] & items_per_chunk[1]
        for chunk in chunks:
            assert run_in_worker(project, chunk.id, threads=1).status == "done"
        scored = queue.get(project, parent)
        assert scored.status == "done", scored.message
        assert [r["file"] for r in scored.result["not_scorable"]] == ["half_diffuse.png"]
        with project.session(readonly=True) as s:
            results = {r.image_id: r for r in s.scalars(select(InferenceResult)
                                                        .where(InferenceResult.model_revision_id == rev_id))}
            regions = {}
            for reg in s.scalars(select(Region)):
                regions.setdefault(reg.result_id, []).append((reg.log10_nfa, reg.x0, reg.y0, reg.x1, reg.y1, reg.area))
            test = _test_images(project)
            by_item = {}
            for ref in test["diffuse"] + test["grazing"]:
                if ref.file_name != "half_diffuse.png":
                    by_item.setdefault(ref.file_name.split("_")[0], []).append(results[ref.id])
        assert sorted(by_item) == ["new0", "new1"]
        for a, b in by_item.values():
            assert a.score == b.score and a.map_blob == b.map_blob and a.labels_blob == b.labels_blob
            assert sorted(regions.get(a.id, [])) == sorted(regions.get(b.id, []))
        spot = regions.get(by_item["new1"][1].id, [])  # the grazing view shows the spot seen under diffuse light
        assert spot and min(spot)[0] < 0
        assert any(x0 < 44 and x1 > 24 and y0 < 40 and y1 > 20 for _, x0, y0, x1, y1, _ in spot)
    finally:
        project.close()


def test_a_revision_stored_before_views_existed_still_scores(tmp_path):
    """A checkpoint whose config has no stack_views and no views (as stored before) loads and scores as one model,
    every view by it, with the scores the model gives."""
    from core.io.images import read_image
    from core.models.uflow import UFlowConfig, train

    project = _project(tmp_path, ["hide0"], ["new0"])
    try:
        model = train([_texture("diffuse", i) for i in range(2)], UFlowConfig(**TINY))
        weights, description = model.to_bytes()
        description["config"].pop("stack_views")
        with project.session() as s:
            rev = ModelRevision(kind="uflow", backbone=description["backbone"], config=description,
                                calibration=model.meta["calibration"], weights_blob=project.blobs.put_bytes(weights))
            s.add(rev)
            s.flush()
            rev_id = rev.id
        scored = _infer(project, rev_id)
        assert scored.result["scored"] == 2 and scored.result["not_scorable"] == []
        with project.session(readonly=True) as s:
            stored = dict(s.execute(select(InferenceResult.image_id, InferenceResult.score)).all())
        refs = [ref for refs in _test_images(project).values() for ref in refs]
        expected = [p.score for p in model.predict([read_image(ref.original_path).pixels for ref in refs])]
        assert [stored[ref.id] for ref in refs] == pytest.approx(expected, abs=1e-5)
    finally:
        project.close()


def test_train_options_choose_the_view_mode(tmp_path, capsys):
    from core.cli import build_parser, main

    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "p", "--per-view", "--stack-views"])
    project = _project(tmp_path, ["hide0"])
    try:
        for option, mode in (("--per-view", "per_view"), ("--stack-views", "stacked"), (None, None)):
            argv = ["train", str(project.root), "--queue-only", "--json"] + ([option] if option else [])
            assert main(argv) == 0
            job = queue.get(project, json.loads(capsys.readouterr().out)["job"])
            assert job.payload["views"] == mode
        assert main(["train", str(project.root), "--per-view", "--from-revision", "1"]) != 0
        assert "per-view and stacked revisions train from scratch" in capsys.readouterr().err
    finally:
        project.close()
