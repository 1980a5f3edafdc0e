"""Milliseconds per image of core.nfa.segment on one core (latent generation not timed).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nfa_speed.py --images 200
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from nfa_common import plant, white_latents  # noqa: E402

from core.nfa import segment  # noqa: E402

CASES = [
    ("28x28+14x14 (816/192 ch) -> 28x28", [(816, 28, 28), (192, 14, 14)], (28, 28)),
    ("28x28+14x14 (816/192 ch) -> 224x224", [(816, 28, 28), (192, 14, 14)], (224, 224)),
    ("64x64+32x32+16x16 (20/56/160 ch) -> 64x64", [(20, 64, 64), (56, 32, 32), (160, 16, 16)], (64, 64)),
    ("64x64+32x32+16x16 (20/56/160 ch) -> 512x512", [(20, 64, 64), (56, 32, 32), (160, 16, 16)], (512, 512)),
    ("64x64+32x32+16x16 (408/96/160 ch) -> 512x512", [(408, 64, 64), (96, 32, 32), (160, 16, 16)], (512, 512)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--tail", choices=["exact", "chernoff"], default="exact")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"tail={args.tail}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, {args.images} images per case")
    for label, shapes, out in CASES:
        for kind in ("noise", "defect"):
            pool = []
            for i in range(min(args.images, 20)):
                z = white_latents(shapes, rng)
                if kind == "defect":
                    z = plant(z, 5, 7, 6, 2.0, shapes[0][1:])
                pool.append(z)
            segment(pool[0], out, tail=args.tail)
            times = []
            for i in range(args.images):
                t = time.perf_counter()
                segment(pool[i % len(pool)], out, tail=args.tail)
                times.append(time.perf_counter() - t)
            ms = np.array(times) * 1000
            print(f"  {label:<48} {kind:<6}  median {np.median(ms):6.2f} ms   mean {ms.mean():6.2f}   "
                  f"p95 {np.percentile(ms, 95):6.2f}", flush=True)


if __name__ == "__main__":
    main()
