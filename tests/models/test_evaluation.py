import json
import shutil

import numpy as np
import pytest

from core.evaluation import discover, run_eval


@pytest.fixture(scope="module")
def tiny_category(mtd_root, tmp_path_factory):
    """A small MVTec-layout copy of MTD: 3 train, 2 good + 2 blowhole test images, masks named both ways."""
    root = tmp_path_factory.mktemp("category")
    (root / "train" / "good").mkdir(parents=True)
    for p in sorted((mtd_root / "train" / "good").iterdir())[:3]:
        shutil.copy(p, root / "train" / "good" / p.name)
    (root / "test" / "good").mkdir(parents=True)
    for p in sorted((mtd_root / "test" / "good").iterdir())[:2]:
        shutil.copy(p, root / "test" / "good" / p.name)
    (root / "test" / "blowhole").mkdir(parents=True)
    (root / "ground_truth" / "blowhole").mkdir(parents=True)
    masks = {m.stem: m for m in (mtd_root / "ground_truth" / "blowhole").iterdir()}
    picked = [p for p in sorted((mtd_root / "test" / "blowhole").iterdir()) if f"{p.stem}_mask" in masks or p.stem in masks][:2]
    for i, p in enumerate(picked):
        shutil.copy(p, root / "test" / "blowhole" / p.name)
        mask = masks.get(f"{p.stem}_mask") or masks[p.stem]
        name = f"{p.stem}_mask.png" if i == 0 else f"{p.stem}.png"  # both naming schemes
        shutil.copy(mask, root / "ground_truth" / "blowhole" / name)
    return root


def test_discover_matches_masks_by_stem(tiny_category):
    data = discover(tiny_category, shots=2)
    assert len(data.train) == 2 and data.train == sorted(data.train)
    assert data.defect_type == ["blowhole", "blowhole", "good", "good"]
    assert all(m is not None for m in data.masks[:2]) and data.masks[2:] == [None, None]


def test_run_eval_reports_the_contract_figures(tiny_category):
    from core.models.uflow import UFlowConfig

    config = UFlowConfig(input_size=128, train_steps=4, batch_size=2, flow_steps=2, hidden_ratio=0.25)
    seen = []
    r = run_eval(tiny_category, config, progress=lambda f, m: seen.append(f))
    for key in ("image_auroc", "pixel_auroc", "aupro", "train_seconds", "backbone_ms_per_image",
                "infer_ms_per_image", "n_train", "n_test_good", "n_test_defect", "calibration",
                "pixel_auroc_per_defect", "defect_pixel_share"):
        assert key in r, key
    assert (r["n_train"], r["n_test_good"], r["n_test_defect"]) == (3, 2, 2)
    assert 0.0 <= r["image_auroc"] <= 1.0 and 0.0 <= r["pixel_auroc"] <= 1.0 and 0.0 <= r["aupro"] <= 1.0
    assert r["infer_ms_per_image"] >= r["backbone_ms_per_image"] > 0
    assert len(r["calibration"]) == 3
    assert seen[-1] == 1.0
    assert "nfa_error" not in r
    if "miou_nfa" in r:  # core.nfa is present
        assert 0.0 <= r["miou_nfa"] <= 1.0 and 0.0 <= r["good_images_with_detection"] <= 1.0
        assert r["nfa_ms_per_image"] > 0
    assert set(r["by_k"]) == {"0", "1", "2", "3", "4"}
    for k, fig in r["by_k"].items():
        assert set(fig) == {"regions_per_good_image", "good_images_with_detection", "defect_images_with_detection",
                            "miou"}, k
        assert 0.0 <= fig["defect_images_with_detection"] <= 1.0 and 0.0 <= fig["miou"] <= 1.0
    counts = [r["by_k"][k]["regions_per_good_image"] for k in "01234"]
    assert counts == sorted(counts, reverse=True)  # a higher k never reports more regions
    assert r["by_k"]["0"]["miou"] == r["miou_nfa"]
    json.dumps(r)


def test_eval_command_writes_json(tiny_category, tmp_path):
    from core.commands.eval_cmd import main

    out = tmp_path / "r.json"
    assert main([str(tiny_category), "--shots", "1", "--input-size", "128", "--steps", "2", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["n_train"] == 1 and r["pixel_auroc"] is not None


def test_pixel_figures_per_defect_weigh_each_type_against_the_good_images():
    from core.evaluation import _pixel_figures_per_defect

    good = np.zeros((4, 4), np.float32)
    small = np.zeros((4, 4), bool)
    small[0, 0] = True
    large = np.zeros((4, 4), bool)
    large[:, :3] = True
    found = np.where(small, 1.0, 0.5).astype(np.float32)  # its defect pixel outranks every normal pixel
    missed = np.where(large, -1.0, 0.0).astype(np.float32)  # its defect pixels rank below every normal pixel
    r = _pixel_figures_per_defect(["good", "crack", "uneven"], [good, found, missed],
                                  [np.zeros((4, 4), bool), small, large])
    assert r["pixel_auroc_per_defect"] == {"crack": 1.0, "uneven": 0.0}
    assert r["defect_pixel_share"] == {"crack": 1 / 13, "uneven": 12 / 13}
