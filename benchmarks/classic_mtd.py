"""Training-free a contrario detector (core.models.classic) on the MTD magnetic-tile test set.

Prints, per feature variant: image AUROC, pixel AUROC (masks resized to the map grid, a fixed random
subsample of pixels per image), regions per good image at k = 0 (NFA <= 1), and ms per image.

    .venv/bin/python benchmarks/classic_mtd.py --limit 10          # 10 images per test folder
    .venv/bin/python benchmarks/classic_mtd.py --variants patch_pca gabor cnn
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from core.models.classic import VARIANTS, ClassicConfig, detect

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mtd" / "magnetic_tile"


def mask_path(root: Path, defect: str, stem: str) -> Path:
    for name in (f"{stem}.png", f"{stem}_mask.png"):
        if (root / "ground_truth" / defect / name).is_file():
            return root / "ground_truth" / defect / name
    raise FileNotFoundError(f"no mask for {defect}/{stem} in {root / 'ground_truth'}")


def test_items(root: Path, limit: int | None) -> list[tuple[Path, Path | None]]:
    items = []
    for folder in sorted((root / "test").iterdir()):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png", ".bmp", ".tif"))
        for p in files[:limit]:
            mask = None if folder.name == "good" else mask_path(root, folder.name, p.stem)
            items.append((p, mask))
    return items


def run_variant(items, config: ClassicConfig, pixels_per_image: int, rng: np.random.Generator) -> dict:
    scores, labels, pix_scores, pix_labels, good_regions, ms = [], [], [], [], [], []
    for path, mask_path in items:
        t0 = time.perf_counter()
        result = detect(path, config)
        ms.append(1e3 * (time.perf_counter() - t0))
        scores.append(result.score)
        labels.append(mask_path is not None)
        h, w = result.map_shape
        if mask_path is None:
            mask = np.zeros((h, w), dtype=bool)
            good_regions.append(len(result.detected(0.0)))
        else:
            m = Image.open(mask_path).convert("L").resize((w, h), Image.NEAREST)
            mask = np.asarray(m) > 127
        flat = rng.choice(h * w, size=min(pixels_per_image, h * w), replace=False)
        pix_scores.append(result.anomaly_map.ravel()[flat])
        pix_labels.append(mask.ravel()[flat])
    ps, pl = np.concatenate(pix_scores), np.concatenate(pix_labels)
    return {
        "image_auroc": roc_auc_score(labels, scores),
        "pixel_auroc": roc_auc_score(pl, ps) if pl.any() and not pl.all() else float("nan"),
        "regions_per_good": float(np.mean(good_regions)) if good_regions else float("nan"),
        "good_with_detection": float(np.mean([r > 0 for r in good_regions])) if good_regions else float("nan"),
        "ms_mean": float(np.mean(ms)), "ms_median": float(np.median(ms)), "n": len(items),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--nfa-mode", default="region", choices=("pixel", "region"))
    parser.add_argument("--limit", type=int, default=None, help="images per test folder")
    parser.add_argument("--pixels-per-image", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    items = test_items(args.root, args.limit)
    print(f"{len(items)} test images from {args.root} ({sum(m is None for _, m in items)} good), "
          f"nfa_mode={args.nfa_mode}")
    header = f"{'variant':<10} {'img AUROC':>9} {'px AUROC':>9} {'regions/good@k=0':>17} {'good w/ det':>11} " \
             f"{'ms/img mean':>11} {'median':>7}"
    rows = []
    for variant in args.variants:
        res = run_variant(items, ClassicConfig(variant=variant, nfa_mode=args.nfa_mode), args.pixels_per_image,
                          np.random.default_rng(0))
        rows.append(f"{variant:<10} {res['image_auroc']:>9.3f} {res['pixel_auroc']:>9.3f} "
                    f"{res['regions_per_good']:>17.2f} {res['good_with_detection']:>11.2f} "
                    f"{res['ms_mean']:>11.0f} {res['ms_median']:>7.0f}")
        print(rows[-1], flush=True)
    print()
    print(header)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
