"""Training and scoring jobs tile large images; `--tile` / `--no-tile` reach the worker through the payloads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage
from sqlalchemy import select

from core.cli import build_parser
from core.commands.tile_options import tile_overrides
from core.jobs import queue
from core.jobs.payloads import infer_payload, train_payload
from core.jobs.runner import run_in_worker
from core.labels.revisions import add_annotation
from core.store.project import Project
from core.store.schema import Image, InferenceResult, ModelRevision

TINY = dict(input_size=64, train_steps=6, batch_size=4, hidden_ratio=0.25, flow_steps=2, random_backbone=True,
            strides=[8, 16])
SHAPE = (320, 448)  # over twice the 64 px input on a side: tiled


def _write(path, seed):
    rng = np.random.default_rng(seed)
    grain = ndimage.gaussian_filter(rng.normal(0.0, 40.0, SHAPE), 1.0)
    PILImage.fromarray((128 + grain).clip(0, 255).astype(np.uint8)).save(path)
    return path


def test_tile_options_parse_into_config_fields():
    parser = build_parser()
    assert tile_overrides(parser.parse_args(["eval", "x", "--json", "o.json", "--tile", "512"])) == \
        {"tiling": True, "tile_px": 512}
    assert tile_overrides(parser.parse_args(["train", "p", "--no-tile"])) == {"tiling": False}
    assert tile_overrides(parser.parse_args(["infer", "p"])) == {}


def test_jobs_train_on_tiles_and_store_maps_at_the_pixel_scale(tmp_path):
    from core.io.importer import import_paths

    files = [_write(tmp_path / f"good_{i}.png", i) for i in range(4)]
    tests = [_write(tmp_path / f"test_{i}.png", 10 + i) for i in range(2)]
    project = Project.create(tmp_path / "project")
    try:
        import_paths(project, [str(p) for p in files], "train")
        import_paths(project, [str(p) for p in tests], "test")
        with project.session() as s:
            names = {i.id: Path(i.original_path).name for i in s.query(Image)}
            for image_id, name in names.items():
                if name.startswith("good_"):
                    add_annotation(s, image_id, "alice", verdict="good")
            test_ids = sorted(i for i, name in names.items() if name.startswith("test_"))
        payload = train_payload(project, batch="train", tiling={"tile_px": 64})
        payload["config"].update(TINY)
        view = run_in_worker(project, queue.submit(project, "train", payload), threads=1)
        assert view.status == "done", view.message
        with project.session() as s:
            rev = s.scalars(select(ModelRevision)).one()
            assert rev.config["config"]["tile_px"] == 64 and rev.config["config"]["tiling"]
            assert rev.figures["training"]["tiled_images"] == 4 and rev.figures["training"]["pixel_scale"] == 64
        whole = infer_payload(project, image_ids=test_ids[:1], tiling={"tiling": False})
        assert run_in_worker(project, queue.submit(project, "infer", whole), threads=1).status == "done"
        tiled = run_in_worker(project, queue.submit(project, "infer", infer_payload(project, image_ids=test_ids)),
                              threads=1)
        assert tiled.status == "done" and tiled.result["scored"] == 1
        with project.session() as s:
            shapes = {r.image_id: (tuple(r.map_info["shape"]), tuple(r.map_info["image_size"]),
                                   project.blobs.get_array(r.labels_blob).shape)
                      for r in s.scalars(select(InferenceResult))}
        assert shapes[test_ids[0]] == ((64, 64), SHAPE, (64, 64))  # resized whole
        assert shapes[test_ids[1]] == (SHAPE, SHAPE, SHAPE)  # native resolution, one map for the whole image
    finally:
        project.close()
