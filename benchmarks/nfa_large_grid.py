"""The a contrario segmentation on the latent grids of tiled large images: seconds, peak memory, log10 N_T.

    OMP_NUM_THREADS=1 python benchmarks/nfa_large_grid.py

White latents with tf_efficientnet_lite0's channels (20/56/160 at strides 8/16/32, finest grid H x W cells),
segmented at the stored map size of a tiled image (longer side about 2048). Paper mode: one count of tests for
all region sizes, which grows with the grid; calibrated mode: the region null of core.nfa.region_null (fitted
here on six 64 x 64 white images), whose count grows with the logarithm of the grid.
"""
from __future__ import annotations

import time
import tracemalloc

import numpy as np

from core.nfa import segment
from core.nfa.region_null import fit_region_null

GRIDS = [(32, 32, "256 px input"), (250, 376, "3000 x 2000 at 1:1"), (500, 750, "6000 x 4000 at 1:1"),
         (1250, 1250, "10000 x 10000 at 1:1")]


def latents(rng, h, w):
    return [rng.standard_normal((c, h // k, w // k)).astype(np.float32) for c, k in ((160, 4), (56, 2), (20, 1))]


def main() -> None:
    rng = np.random.default_rng(0)
    null = fit_region_null([latents(rng, 64, 64) for _ in range(6)])
    for h, w, label in GRIDS:
        z = latents(rng, h, w)
        factor = 1
        while max(h, w) * 8 // factor > 2048 and factor < 8:
            factor *= 2
        shape = (h * 8 // factor, w * 8 // factor)
        for mode in ("paper", "calibrated"):
            tracemalloc.start()
            t = time.perf_counter()
            seg = segment(z, shape, mode=mode, null=null if mode == "calibrated" else None)
            seconds = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
            tracemalloc.stop()
            print(f"{label:<22} grid {h}x{w} -> map {shape[0]}x{shape[1]}  {mode:<10} {seconds:6.2f} s  "
                  f"peak {peak:5.0f} MiB  log10 N_T {seg.log10_nt:9.0f}  regions {len(seg.regions)}", flush=True)


if __name__ == "__main__":
    main()
