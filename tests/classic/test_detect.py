"""End-to-end detection with the training-free a contrario detector on real and rendered images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from rendering import relief_scene
from skimage import data

from core.models.classic import ClassicConfig, ClassicResult, detect


def _planted_brick() -> tuple[np.ndarray, tuple[int, int]]:
    """The bundled brick texture at half size with a dark hole of 7 px radius."""
    img = np.asarray(Image.fromarray(data.brick()).resize((256, 256), Image.BILINEAR), dtype=np.float64)
    cy, cx = 170, 90
    yy, xx = np.mgrid[:256, :256]
    hole = np.clip(8.0 - np.hypot(yy - cy, xx - cx), 0.0, 1.0)  # antialiased disc
    return (img * (1.0 - hole) + 15.0 * hole).astype(np.uint8), (cy, cx)


def _check_contract(r: ClassicResult) -> None:
    assert r.anomaly_map.dtype == np.float32 and r.anomaly_map.shape == r.map_shape
    assert r.labels.dtype == np.int32 and r.labels.shape == r.map_shape
    assert r.score == pytest.approx(float(r.anomaly_map.max()))
    assert sorted(x.label for x in r.regions) == sorted(set(np.unique(r.labels).tolist()) - {0})
    for region in r.regions:
        inside = r.labels == region.label
        assert region.area == int(inside.sum())
        assert region.log10_nfa <= 0.0
        assert region.log10_nfa == pytest.approx(-float(r.anomaly_map[inside].max()), abs=1e-3)
        y0, x0, y1, x1 = region.bbox
        assert inside[y0:y1, x0:x1].sum() == region.area
    assert r.timing_ms["total"] > 0


@pytest.mark.parametrize("variant", ["patch_pca", "gabor"])
def test_planted_defect_in_a_texture_is_found_in_place(variant):
    image, (cy, cx) = _planted_brick()
    r = detect(image, ClassicConfig(variant=variant))
    _check_contract(r)
    best = min(r.regions, key=lambda reg: reg.log10_nfa)
    assert best.log10_nfa < -2.0
    y0, x0, y1, x1 = best.bbox
    assert y0 <= cy < y1 and x0 <= cx < x1
    assert (y1 - y0) * (x1 - x0) < 0.05 * image.size  # a local detection, not the whole image
    # without the stain nothing is detected there
    clean = np.asarray(Image.fromarray(data.brick()).resize((256, 256), Image.BILINEAR))
    assert detect(clean, ClassicConfig(variant=variant)).labels[cy, cx] == 0


def test_relief_defect_seen_only_under_grazing_light_is_found_with_the_lighting_pca():
    views, (cy, cx) = relief_scene()
    r = detect(views, ClassicConfig(variant="patch_pca"))
    _check_contract(r)
    found = [reg for reg in r.regions if reg.bbox[0] <= cy < reg.bbox[2] and reg.bbox[1] <= cx < reg.bbox[3]]
    assert found and found[0].log10_nfa < -2.0
    # the diffuse view alone shows no relief: nothing significant at the bump
    diffuse = detect(views[0], ClassicConfig(variant="patch_pca"))
    assert diffuse.labels[cy, cx] == 0


def test_cnn_variant_runs_on_the_offline_backbone():
    image, (cy, cx) = _planted_brick()
    r = detect(image, ClassicConfig(variant="cnn", cnn_input_side=192))
    _check_contract(r)
    assert r.map_shape == (256, 256)
    yx = np.unravel_index(np.argmax(r.anomaly_map), r.map_shape)
    assert abs(int(yx[0]) - cy) < 24 and abs(int(yx[1]) - cx) < 24


def test_pixel_mode_and_rgb_input():
    image, (cy, cx) = _planted_brick()
    rgb = np.stack([image, np.roll(image, 3, axis=0), image], axis=2)  # three distinct channels
    r = detect(rgb, ClassicConfig(variant="patch_pca", nfa_mode="pixel"))
    _check_contract(r)
    assert r.regions
    y0, x0, y1, x1 = min(r.regions, key=lambda reg: reg.log10_nfa).bbox
    assert y0 <= cy < y1 and x0 <= cx < x1


def test_bad_configs_are_refused():
    with pytest.raises(ValueError):
        ClassicConfig(variant="resnet")
    with pytest.raises(ValueError):
        ClassicConfig(patch_size=8)
    assert ClassicConfig.from_dict(ClassicConfig(variant="gabor").to_dict()).variant == "gabor"
