"""Benchmark a U-Flow model on an MVTec-layout category: train on train/good, score everything in test/.

Layout: CATEGORY/train/good/*, CATEGORY/test/<good|defect>/*, optional masks in
CATEGORY/ground_truth/<defect>/<stem>_mask.* or <stem>.* (matched by stem, any extension, > 127 = defect).
Pixel figures are computed at each image's original geometry, downscaled so its longer side is at most
`PIXEL_EVAL_SIDE` (core.metrics.pixel_eval: map bilinear, mask area fraction > 0.5) to keep memory bounded.
Imports torch: use from worker processes or the CLI only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ContrarioError
from core.metrics.pixel_eval import EVAL_SIDE, eval_pair
from core.models.honesty import HONESTY_K
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

PIXEL_EVAL_SIDE = EVAL_SIDE


@dataclass
class Category:
    train: list[Path]
    test: list[Path]
    defect_type: list[str]  # "good" or the defect folder name, per test image
    masks: list[Path | None]  # per test image; None for good images or missing masks

    @property
    def has_masks(self) -> bool:
        return any(m is not None for m, d in zip(self.masks, self.defect_type) if d != "good")


def discover(category_dir: str | Path, shots: int | None = None) -> Category:
    """List the training images (first `shots` by sorted name), test images, labels and masks."""
    from core.io.mvtec import layout

    root = Path(category_dir)
    train_dir = root / "train" / "good"
    test_dir = root / "test"
    if not train_dir.is_dir() or not test_dir.is_dir():
        raise ContrarioError(f"{root}: expected train/good/ and test/ folders (MVTec layout)")
    found = layout(root)
    train = [im.path for im in found if im.split == "train" and im.cls == "good"]
    if shots is not None:
        if shots < 1:
            raise ContrarioError("--shots must be at least 1")
        train = train[:shots]
    if not train:
        raise ContrarioError(f"{train_dir}: no training images")
    test = [im for im in found if im.split == "test"]
    if not test:
        raise ContrarioError(f"{test_dir}: no test images")
    return Category(train, [im.path for im in test], [im.cls for im in test],
                    [None if im.cls == "good" else im.mask for im in test])


def _read_mask(path: Path | None, shape: tuple[int, int]) -> np.ndarray:
    from core.io.mvtec import read_mask

    return np.zeros(shape, dtype=bool) if path is None else read_mask(path, shape)


BY_K = HONESTY_K  # the same k as the honesty curve of the revisions panel


def _figures_at(segs, defective, masks_full, k: float) -> dict[str, Any]:
    """Regions per good image, good/defect images with a detection and mIoU of the mask at k.

    A defective image counts as detected when its mask at k overlaps the ground-truth mask, or, for
    images without a mask (image-level labels), when it has any region at k.
    """
    from core.metrics.overlap import iou

    good = [s.count_at(k) for s, d in zip(segs, defective) if not d]
    found, ious = [], []
    for i, (s, d) in enumerate(zip(segs, defective)):
        if not d:
            continue
        mask = s.mask_at(k)
        truth = masks_full[i] if masks_full is not None else None
        if truth is not None and truth.any():
            found.append(bool((mask & truth).any()))
            ious.append(iou(mask, truth))
        else:
            found.append(bool(mask.any()))
    return {"regions_per_good_image": float(np.mean(good)) if good else float("nan"),
            "good_images_with_detection": float(np.mean([n > 0 for n in good])) if good else float("nan"),
            "defect_images_with_detection": float(np.mean(found)) if found else float("nan"),
            "miou": float(np.mean(ious)) if ious else None}


def _nfa_figures(model, preds, defective, masks_full, k, progress) -> dict[str, Any]:
    t0 = time.perf_counter()
    null = model.region_null
    segs = []
    for i, p in enumerate(preds):
        segs.append(model.segment(p, p.original_shape, k=k, null=null))
        if i % 10 == 0:
            progress(0.9 + 0.07 * (i + 1) / len(preds), "NFA segmentation")
    out: dict[str, Any] = {"nfa_ms_per_image": 1000 * (time.perf_counter() - t0) / len(preds), "k": k,
                           "nfa_mode": "calibrated" if null is not None else "paper"}
    at_k = _figures_at(segs, defective, masks_full, k)
    out.update({key: v for key, v in at_k.items() if key != "miou"})
    if masks_full is not None:
        out["miou_nfa"] = at_k["miou"]
    out["by_k"] = {str(kk): _figures_at(segs, defective, masks_full, kk) for kk in BY_K}
    if null is not None:
        cal = null.calibration
        out["region_null"] = {"scales": [{"channels": sc.channels, "mu": sc.mu, "var": sc.var, "rho": sc.rho}
                                         for sc in null.scales],
                              "n_images": cal.n_images, "n_scores": len(cal.scores), "tail_fitted": cal.fitted,
                              "t0": cal.t0, "beta": cal.beta, "warnings": null.warnings, "notes": null.notes,
                              "per_scale": [{"n_scores": len(c.scores), "tail_fitted": c.fitted, "t0": c.t0,
                                             "beta": c.beta} for c in null.scale_calibrations]
                              if null.scale_calibrations is not None else None}
    return out


def _pixel_figures_per_defect(kinds: list[str], maps, masks) -> dict:
    """Pixel AUROC of each defect type against the good images, and each type's share of the defective pixels
    (the pooled pixel AUROC weighs types by their pixels: one type with large masks can decide it)."""
    from core.metrics.ranking import pixel_auroc

    per_type, share = {}, {}
    total = sum(int(m.sum()) for m in masks)
    for kind in sorted(set(kinds) - {"good"}):
        sel = [i for i, d in enumerate(kinds) if d in ("good", kind)]
        per_type[kind] = pixel_auroc([maps[i] for i in sel], [masks[i] for i in sel])
        share[kind] = sum(int(masks[i].sum()) for i, d in enumerate(kinds) if d == kind) / total if total else 0.0
    return {"pixel_auroc_per_defect": per_type, "defect_pixel_share": share}


def run_eval(category_dir: str | Path, config=None, shots: int | None = None, k: float = 0.0,
             batch_size: int = 8, progress: ProgressCallback = no_progress,
             cancel: CancelToken = NEVER_CANCELLED, with_nfa: bool = True, backbone=None) -> dict[str, Any]:
    """Train on train/good, score test/, return the figures (JSON-able dict).

    `backbone`: an already built extractor to reuse. Progress: training 0-50 %, scoring 50-90 %, NFA 90-97 %, metrics 97-100 %.
    """
    from core.metrics.pro import aupro
    from core.metrics.ranking import image_auroc, pixel_auroc
    from core.models.uflow import UFlowConfig, mean_z2_per_scale, train

    config = config or UFlowConfig()
    data = discover(category_dir, shots)
    t0 = time.perf_counter()
    model = train(data.train, config, progress=lambda f, m: progress(0.5 * f, f"train: {m}"), cancel=cancel,
                  backbone=backbone)
    train_seconds = time.perf_counter() - t0

    t1 = time.perf_counter()
    preds = model.predict(data.test, progress=lambda f, m: progress(0.5 + 0.4 * f, f"test: {m}"), cancel=cancel,
                          batch_size=batch_size)
    predict_seconds = time.perf_counter() - t1
    defective = [d != "good" for d in data.defect_type]
    scores = [p.score for p in preds]
    timing = {key: float(np.mean([p.timing_ms[key] for p in preds])) for key in preds[0].timing_ms}

    result: dict[str, Any] = {
        "category": str(category_dir), "backbone": config.backbone, "input_size": config.input_size,
        "resize": config.resize, "seed": config.seed, "shots": shots,
        "train_steps": model.meta.get("training", {}).get("steps", config.train_steps),
        "n_train": len(data.train), "n_test_good": defective.count(False), "n_test_defect": defective.count(True),
        "image_auroc": image_auroc(scores, defective),
        "train_seconds": train_seconds,
        "backbone_ms_per_image": timing["backbone"],
        "infer_ms_per_image": float(sum(timing.values())),
        "infer_wall_ms_per_image": 1000 * predict_seconds / len(preds),
        "timing_ms_per_image": timing,
        "holdout_calibration": [s["mean_z2"] for s in model.calibration.get("scales", [])],
        "holdout_ks": [s["ks"] for s in model.calibration.get("scales", [])],
        "calibration_warnings": model.calibration.get("warnings", []),
        "training": {k_: v for k_, v in model.meta.get("training", {}).items() if k_ != "loss_curve"},
    }
    result["calibration"] = mean_z2_per_scale([p.latents for p, d in zip(preds, defective) if not d])
    per_type = {}
    for kind in sorted(set(data.defect_type) - {"good"}):
        sel = [i for i, d in enumerate(data.defect_type) if d in ("good", kind)]
        per_type[kind] = image_auroc([scores[i] for i in sel], [defective[i] for i in sel])
    result["image_auroc_per_defect"] = per_type

    masks_full = None
    if data.has_masks:
        masks_full = [_read_mask(m, p.original_shape) for m, p in zip(data.masks, preds)]

    if with_nfa:
        cancel.check()
        try:
            result.update(_nfa_figures(model, preds, defective, masks_full, k, progress))
        except Exception as exc:  # a failing NFA must not lose the other figures
            result["nfa_error"] = f"{type(exc).__name__}: {exc}"

    progress(0.97, "pixel metrics")
    if masks_full is not None:
        pairs = [eval_pair(p.anomaly_map, m, p.original_shape) for p, m in zip(preds, masks_full)]
        maps = [a for a, _ in pairs]
        masks = [m for _, m in pairs]
        result["pixel_auroc"] = pixel_auroc(maps, masks)
        result["aupro"] = aupro(maps, masks, max_fpr=0.3)
        result["pixel_eval_side"] = PIXEL_EVAL_SIDE
        result.update(_pixel_figures_per_defect(data.defect_type, maps, masks))
    else:
        result["pixel_auroc"] = None
        result["aupro"] = None
    progress(1.0, "done")
    return result
