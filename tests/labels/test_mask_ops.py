import numpy as np
import pytest

from core.labels.mask_ops import (
    MaskDelta,
    StrokeRecorder,
    brush_dab,
    brush_line,
    combine_masks,
    diff_delta,
    disk,
    fill_polygon,
    flood_fill,
    merge_deltas,
    paint_where,
    region_crop,
    subtract_where,
    vote_map,
)


def test_disk_footprint_is_round_and_centred():
    d = disk(3)
    assert d.shape == (7, 7)
    assert d[3, 3] and d[0, 3] and d[3, 0] and not d[0, 0]
    assert (d == d[::-1, ::-1]).all()


def test_brush_dab_paints_a_disk_and_undoes_exactly():
    rng = np.random.default_rng(1)
    mask = (rng.random((50, 60)) > 0.7).astype(np.uint8) * 2
    original = mask.copy()
    delta = brush_dab(mask, 20.5, 10.2, 4, 3)
    assert delta.bbox == (16, 6, 25, 15)
    assert (mask[10, 20] == 3) and (mask[6, 20] == 3) and mask[6, 16] == original[6, 16]
    changed = mask != original
    assert changed.sum() == delta.changed_pixels()
    delta.undo(mask)
    assert (mask == original).all()
    delta.redo(mask)
    assert mask[10, 20] == 3


def test_dab_at_the_edge_is_clipped_and_a_noop_returns_none():
    mask = np.zeros((10, 10), np.uint8)
    d = brush_dab(mask, 0, 0, 3, 1)
    assert d.bbox == (0, 0, 4, 4) and mask[0, 0] == 1 and mask[3, 0] == 1
    assert brush_dab(mask, 0, 0, 3, 1) is None  # nothing to change
    assert brush_dab(mask, 50, 50, 3, 1) is None  # outside


def test_eraser_is_value_zero():
    mask = np.ones((20, 20), np.uint8)
    brush_dab(mask, 10, 10, 2, 0)
    assert mask[10, 10] == 0 and mask[10, 13] == 1 and (mask == 0).sum() == disk(2).sum()


def test_stroke_merges_to_one_tight_delta_with_exact_round_trip():
    rng = np.random.default_rng(2)
    mask = rng.integers(0, 3, (80, 100), dtype=np.uint8)
    original = mask.copy()
    rec = StrokeRecorder()
    rec.extend(brush_line(mask, (10, 10), (70, 60), 3, 5))
    rec.extend(brush_line(mask, (70, 60), (20, 65), 3, 0))
    assert len(rec.deltas) > 10
    final = mask.copy()
    merged = rec.finish(mask)
    assert merged.changed_pixels() == int((final != original).sum())
    ys, xs = np.nonzero(final != original)
    assert merged.bbox == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    merged.undo(mask)
    assert (mask == original).all()
    merged.redo(mask)
    assert (mask == final).all()


def test_line_has_no_gaps():
    mask = np.zeros((40, 200), np.uint8)
    brush_line(mask, (5, 20), (195, 20), 2, 1)
    assert mask[20, 5:196].all()


def test_polygon_fill_counts_and_clips():
    mask = np.zeros((30, 30), np.uint8)
    d = fill_polygon(mask, [(5, 5), (14, 5), (14, 14), (5, 14)], 4)
    assert (mask == 4).sum() == 100 and d.bbox == (5, 5, 15, 15)
    fill_polygon(mask, [(25, 25), (40, 25), (40, 40), (25, 40)], 1)
    assert (mask == 1).sum() == 25
    assert fill_polygon(mask, [(1, 1), (2, 2)], 1) is None


def test_flood_fill_stays_inside_4_connected_area():
    mask = np.zeros((20, 20), np.uint8)
    mask[5, 2:12] = 1
    mask[12, 2:12] = 1
    mask[5:13, 2] = 1
    mask[5:13, 11] = 1
    mask[13, 12] = 0
    d = flood_fill(mask, 6, 8, 2)
    assert (mask == 2).sum() == 6 * 8
    assert d.bbox == (3, 6, 11, 12)
    assert flood_fill(mask, 6, 8, 2) is None


def test_region_crop_uses_the_cell_under_each_pixel_centre():
    labels = np.zeros((4, 4), np.int32)
    labels[1, 2] = 7
    (y0, x0), crop = region_crop(labels, 7, (16, 20))
    assert (y0, x0) == (4, 10) and crop.shape == (4, 5) and crop.all()
    mask = np.zeros((16, 20), np.uint8)
    paint_where(mask, crop, 3, (y0, x0))
    assert (mask == 3).sum() == 20
    subtract_where(mask, crop[:2], (y0, x0))
    assert (mask == 3).sum() == 10
    assert region_crop(labels, 9, (16, 20)) is None


def test_diff_and_merge_edge_cases():
    a = np.zeros((5, 5), np.uint8)
    assert diff_delta(a, a.copy()) is None
    assert merge_deltas([], a) is None
    b = a.copy()
    b[2, 3] = 1
    d = diff_delta(a, b, (10, 20))
    assert isinstance(d, MaskDelta) and (d.y0, d.x0) == (12, 23) and d.shape == (1, 1)


def test_combine_and_vote():
    a = np.array([[1, 1, 0, 0]], np.uint8)
    b = np.array([[2, 1, 1, 0]], np.uint8)
    c = np.array([[2, 0, 0, 3]], np.uint8)
    assert vote_map([a, b, c]).tolist() == [[3, 2, 1, 1]]
    assert combine_masks([a, b, c], "union").tolist() == [[2, 1, 1, 3]]
    assert combine_masks([a, b, c], "intersection").tolist() == [[2, 0, 0, 0]]
    assert combine_masks([a, b, c], "majority").tolist() == [[2, 1, 0, 0]]
    with pytest.raises(ValueError):
        combine_masks([a], "average")
