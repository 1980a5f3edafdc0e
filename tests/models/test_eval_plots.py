"""`contrario eval --plot`: the honesty curve and detection against k, from a real run on generated images."""
import json

import numpy as np
import pytest
from PIL import Image

from core.demo import leather_texture, plant_spot
from core.evaluation_plots import DETECTION_PNG, HONESTY_PNG, honesty_points, poisson_interval


@pytest.fixture(scope="module")
def leather_category(tmp_path_factory):
    """MVTec layout: 3 train/good, 2 test/good, 2 test/spot with their planted masks."""
    root = tmp_path_factory.mktemp("leather")
    rng = np.random.default_rng(3)
    for sub, n in (("train/good", 3), ("test/good", 2)):
        (root / sub).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(leather_texture(rng, 96).astype(np.uint8)).save(root / sub / f"{i:03d}.png")
    (root / "test/spot").mkdir(parents=True)
    (root / "ground_truth/spot").mkdir(parents=True)
    for i in range(2):
        img = leather_texture(rng, 96)
        mask = plant_spot(rng, img)
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(root / "test/spot" / f"{i:03d}.png")
        Image.fromarray((mask * 255).astype(np.uint8)).save(root / "ground_truth/spot" / f"{i:03d}_mask.png")
    return root


def test_poisson_interval_matches_the_known_values():
    low, high = poisson_interval(0)
    assert low == 0.0 and high == pytest.approx(3.689, abs=1e-3)  # the exact 95 % bound for zero events
    low, high = poisson_interval(10)
    assert low == pytest.approx(4.795, abs=1e-3) and high == pytest.approx(18.39, abs=1e-2)


def test_honesty_points_count_regions_and_the_nominal_rate():
    by_k = {"0": {"regions_per_good_image": 0.5}, "1": {"regions_per_good_image": 0.05},
            "2": {"regions_per_good_image": 0.0}}
    points = honesty_points(by_k, n_good=20)
    assert [p["regions"] for p in points] == [10, 1, 0]
    assert [p["nominal"] for p in points] == [1.0, 0.1, 0.01]
    assert all(p["low"] <= p["rate"] <= p["high"] for p in points)


def test_eval_plot_writes_both_figures(leather_category, tmp_path):
    from core.commands.eval_cmd import main

    out, plots = tmp_path / "r.json", tmp_path / "plots"
    assert main([str(leather_category), "--input-size", "64", "--steps", "2", "--json", str(out),
                 "--plot", str(plots)]) == 0
    assert set(json.loads(out.read_text())["by_k"]) == {"0", "1", "2", "3", "4"}
    for name in (HONESTY_PNG, DETECTION_PNG):
        with Image.open(plots / name) as im:
            assert im.format == "PNG" and im.size == (660, 480)
            pixels = np.asarray(im.convert("L"))
        assert pixels.std() > 5  # axes, curves and text were drawn, not a blank canvas
