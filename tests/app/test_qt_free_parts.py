"""Qt-free pieces behind the workbench: thumbnail cache, demo images, stored-result outlines."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

from app.canvas.results import RegionInfo, build_overlay, map_to_uint8
from core.demo import write_demo_images
from core.errors import ImageError
from core.io.thumbnails import ThumbnailCache, default_cache_dir
from core.store.blobs import sha256_file


def test_thumbnail_cache_writes_once_keyed_by_sha_and_size(demo_files, tmp_path):
    images, corrupt = demo_files
    cache = ThumbnailCache(default_cache_dir(tmp_path), size=64)
    src = images[0].path
    sha = sha256_file(src)
    assert cache.lookup(sha) is None
    path = cache.get_or_create(src, sha)
    assert path == tmp_path / "cache" / "thumbs" / sha[:2] / f"{sha}_64.png"
    mtime = path.stat().st_mtime_ns
    thumb = cache.load(src, sha)
    assert max(thumb.shape[:2]) == 64 and thumb.dtype == np.uint8
    assert path.stat().st_mtime_ns == mtime  # served from disk, not rebuilt
    assert cache.get_or_create(src, sha, size=32) != path
    assert not list(path.parent.glob(".thumb-*"))  # no temporary files left behind
    with pytest.raises(ImageError):
        cache.get_or_create(corrupt, sha256_file(corrupt))


def test_demo_images_are_deterministic_and_carry_planted_defects(tmp_path):
    a = write_demo_images(tmp_path / "a", seed=7, per_product=4, multiview_items=2, size=96)
    b = write_demo_images(tmp_path / "b", seed=7, per_product=4, multiview_items=2, size=96)
    assert [d.path.read_bytes() for d in a] == [d.path.read_bytes() for d in b]
    assert len(a) == 4 + 4 + 2 * 3
    assert {d.view for d in a if d.product == "assembly"} == {"top", "left", "right"}
    defects = [d for d in a if d.defect]
    assert defects and all(d.mask is not None and d.mask.any() for d in defects)
    with PILImage.open(defects[0].path) as im:
        assert im.size == (96, 96) and im.mode == "RGB"


def test_overlay_outlines_follow_the_threshold():
    labels = np.zeros((32, 32), np.int32)
    labels[2:6, 2:8] = 1
    labels[20:30, 10:20] = 2
    heat = labels.astype(np.float32) * 0.4
    regions = [RegionInfo(1, -1.5, 24 * 16, (8, 8, 32, 24)), RegionInfo(2, -7.0, 100 * 16, (40, 80, 80, 120))]
    ov = build_overlay(7.0, heat, None, (128, 128), labels, regions)
    x0, _, c0 = ov.outline_arrays(0.0)
    x2, y2, _ = ov.outline_arrays(2.0)
    x8, _, _ = ov.outline_arrays(8.0)
    assert len(x0) > len(x2) > 0 and len(x8) == 0
    assert (c0 == 0).sum() == 2  # two closed outlines, not joined to each other
    assert x2.min() >= 40 - 4 and x2.max() <= 80 + 4 and y2.min() >= 80 - 4  # in image pixels (x4 grid)
    assert ov.region_at(60, 100, k=2.0).label == 2
    assert ov.region_at(20, 12, k=2.0) is None and ov.region_at(20, 12).label == 1
    assert map_to_uint8(np.array([[0.0, 0.5], [1.0, 2.0]]), {"range": [0, 1]}).tolist() == [[0, 127], [255, 255]]


def test_threshold_scale_spans_the_regions_that_exist():
    """The slider ran k = 0-10 while region strengths ran 9-4,492: it rarely changed anything."""
    from app.canvas.threshold_scale import STEPS, ThresholdScale

    strengths = [9.0, 35.0, 120.0, 800.0, 4492.0]
    scale = ThresholdScale(strengths)
    assert scale.k_max >= 4492
    positions = [scale.to_position(s) for s in strengths]
    assert positions == sorted(positions) and len(set(positions)) == len(strengths)
    assert all(abs(scale.to_k(p) - s) / s < 0.02 for p, s in zip(positions, strengths))
    assert scale.to_k(0) == 0 and scale.to_k(STEPS) == scale.k_max
    assert scale.to_position(2.0) > 0.05 * STEPS  # the nominal k = 0-4 keep room on a log scale
    assert scale.histogram(10).sum() == len(strengths)
    assert ThresholdScale([]).k_max == 4.0  # nothing scored: k = 0-4
