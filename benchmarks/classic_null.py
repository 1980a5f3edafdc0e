"""Null check of the training-free a contrario detector: defect-free textures should give about no
detection at k = 0 (NFA <= 1 means one false alarm per image on average under the null).

Textures: scikit-image's bundled brick, grass and gravel (512 x 512) and the first MTD good test
images. Prints regions per image at k = 0 and k = 2, and the mean image score, per feature variant.

    .venv/bin/python benchmarks/classic_null.py --mtd-good 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from skimage import data

from core.models.classic import VARIANTS, ClassicConfig, detect

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mtd" / "magnetic_tile"


def textures(root: Path, n_good: int) -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = [("brick", data.brick()), ("grass", data.grass()), ("gravel", data.gravel())]
    good = sorted((root / "test" / "good").glob("*.jpg"))[:n_good] if (root / "test" / "good").is_dir() else []
    return items + [(f"mtd/{p.stem}", p) for p in good]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--mtd-good", type=int, default=5)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--nfa-mode", default="region", choices=("pixel", "region"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    items = textures(args.root, args.mtd_good)
    print(f"{'variant':<10} {'image':<24} {'shape':>9} {'score':>7} {'reg@k=0':>7} {'reg@k=2':>7} {'ms':>6}")
    summary = []
    for variant in args.variants:
        config = ClassicConfig(variant=variant, nfa_mode=args.nfa_mode)
        counts0, counts2, scores = {}, {}, {}
        for name, image in items:
            t0 = time.perf_counter()
            r = detect(image, config)
            ms = 1e3 * (time.perf_counter() - t0)
            counts0[name], counts2[name], scores[name] = len(r.detected(0.0)), len(r.detected(2.0)), r.score
            print(f"{variant:<10} {name:<24} {r.map_shape[0]:>4}x{r.map_shape[1]:<4} {r.score:>7.1f} "
                  f"{counts0[name]:>7} {counts2[name]:>7} {ms:>6.0f}", flush=True)
        for group, keys in (("skimage", [n for n, _ in items if not n.startswith("mtd/")]),
                            ("mtd good", [n for n, _ in items if n.startswith("mtd/")])):
            if keys:
                summary.append(f"{variant:<10} {group:<10} {len(keys):>3} images: regions/image k=0 "
                               f"{np.mean([counts0[k] for k in keys]):.2f}, k=2 {np.mean([counts2[k] for k in keys]):.2f},"
                               f" mean score {np.mean([scores[k] for k in keys]):.1f}")
    print()
    print("\n".join(summary))


if __name__ == "__main__":
    main()
