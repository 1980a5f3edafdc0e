"""Detection rate of core.nfa.segment on planted defects: latent std x1.5 / x2 over s x s finest cells.

A defect covers the same image area on every scale (so 1x1 finest cells touch one coarse cell too).
A hit is a region at threshold k that overlaps the planted area (the square grown to the coarsest
scale's cells it touches, since those are scaled too); "outside" counts regions elsewhere per image.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nfa_sensitivity.py --images 200
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from nfa_common import SHAPE_SETS, plant, white_latents  # noqa: E402

from core.nfa import segment  # noqa: E402

SIZES = (1, 2, 4, 8)
FACTORS = (1.5, 2.0, 3.0, 4.0)
KS = (0.0, 2.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--tail", choices=["exact", "chernoff"], default="exact")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"tail={args.tail}, mode=paper, {args.images} images per cell; hit rate (regions outside / img)")
    for name, shapes in SHAPE_SETS.items():
        finest = shapes[0][1:]
        header = "  ".join(f"{s}x{s}".center(27) for s in SIZES)
        print(f"{name}\n  {'std x':<6} {'k':>3}  {header}")
        for factor in FACTORS:
            hits = np.zeros((len(KS), len(SIZES)))
            outside = np.zeros((len(KS), len(SIZES)))
            for j, size in enumerate(SIZES):
                for _ in range(args.images):
                    y = int(rng.integers(0, finest[0] - size + 1))
                    x = int(rng.integers(0, finest[1] - size + 1))
                    seg = segment(plant(white_latents(shapes, rng), y, x, size, factor, finest), finest)
                    step = finest[0] // shapes[-1][1]
                    square = np.zeros(finest, dtype=bool)
                    square[y // step * step : -(-(y + size) // step) * step,
                           x // step * step : -(-(x + size) // step) * step] = True
                    for i, k in enumerate(KS):
                        found = False
                        for r in seg.regions:
                            if r.log10_nfa > -k:
                                break
                            if (square & (seg.labels == r.label)).any():
                                found = True
                            else:
                                outside[i, j] += 1 / args.images
                        hits[i, j] += found / args.images
            for i, k in enumerate(KS):
                cells = "  ".join(f"{hits[i, j]:>8.3f} ({outside[i, j]:.3f} out)".center(27) for j in range(len(SIZES)))
                print(f"  {factor:<6g} {k:>3g}  {cells}", flush=True)


if __name__ == "__main__":
    main()
