"""False alarms of core.nfa.segment under the null hypothesis (and just off it).

Prints, per latent shape set, the mean number of detected regions per image at k = 0, 1, 2 and the
fraction of images with any detection, for: white N(0,1) latents, under-dispersed latents (std 0.9
and 0.95; a whole-image detection there is the bug of the public code), and spatially correlated
N(0,1) latents (Gaussian-smoothed, unit variance), which is what real flows give.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nfa_null.py                 # 2000 images per white case
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nfa_null.py --images 200 --correlated-images 100
"""
from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from nfa_common import SHAPE_SETS, correlated_latents, white_latents  # noqa: E402

from core.nfa import chi2_energy, log10_chernoff, log10_polyomino_nt, segment  # noqa: E402
from core.nfa.polyomino import POLYOMINO_ALPHA, POLYOMINO_BETA  # noqa: E402
from core.nfa.segmentation import scale_regions  # noqa: E402

KS = (0.0, 1.0, 2.0)


def stratified_candidates(latents, tail: str) -> tuple[float, int]:
    """Experiment, not shipped: best paper-mode log10 NFA of any leaf (the safety margin), and the
    number of leaves a size-stratified count would detect at k=0 and k=2.

    Stratified: NFA = (sum_l H_l W_l) * H_l W_l * alpha beta^r / r * PFA for a leaf of r cells at scale l,
    a union bound over (scale, size, polyomino, position) that is valid for independent cells.
    """
    shapes = [z.shape for z in latents]
    log_nt = log10_polyomino_nt(shapes)
    log_sizes = math.log10(sum(h * w for _, h, w in shapes))
    best = math.inf
    hits = np.zeros(2, dtype=np.int64)
    for z in latents:
        c, h, w = z.shape
        found = scale_regions(chi2_energy(z), c, 0.0, tail)
        if found.log10_pfa.size == 0:
            continue
        best = min(best, log_nt + float(found.log10_pfa.min()))
        r = np.bincount(found.label_image.ravel())[1:].astype(np.float64)
        log_count = math.log10(h * w * POLYOMINO_ALPHA) + r * math.log10(POLYOMINO_BETA) - np.log10(r)
        log_nfa = log_sizes + log_count + found.log10_pfa
        hits += [int((log_nfa < 0).sum()), int((log_nfa <= -2).sum())]
    return best, hits


def count_regions(make, shapes, n: int, rng, tail: str) -> tuple[np.ndarray, float, np.ndarray]:
    """Per image: regions at each k, best leaf log10 NFA, stratified-count detections."""
    counts = np.zeros((n, len(KS)), dtype=np.int64)
    margin = np.zeros(n)
    stratified = np.zeros((n, 2), dtype=np.int64)
    finest = shapes[0][1:]
    for i in range(n):
        latents = make(shapes, rng)
        seg = segment(latents, finest, tail=tail)
        counts[i] = [seg.count_at(k) for k in KS]
        margin[i], stratified[i] = stratified_candidates(latents, tail)
    return counts, margin, stratified


def report(label: str, result, seconds: float) -> None:
    counts, margin, stratified = result
    means = "  ".join(f"k={k:g}: {counts[:, j].mean():.4f}" for j, k in enumerate(KS))
    any_img = (counts[:, 0] > 0).mean()
    finite = margin[np.isfinite(margin)]
    low = f"{finite.min():.0f}/{np.median(finite):.0f}" if finite.size else "none"
    print(f"  {label:<36} n={len(counts):>5}  regions/img {means}  imgs with any (k=0): {any_img:.4f}"
          f"  best leaf log10NFA min/median: {low}  [stratified count, k=0: {stratified.mean():.3f}/img]"
          f"  ({seconds:.0f} s)", flush=True)


def unclamped_chernoff_demo(shapes, std: float, rng) -> float:
    """Whole-image log10 NFA that the unclamped Chernoff bound gives (the public-code pitfall)."""
    z = white_latents(shapes, rng, std)
    total = log10_polyomino_nt(shapes)
    best = 0.0
    for lat in z:
        u = np.einsum("chw,chw->hw", lat, lat)
        c = lat.shape[0]
        lam = float(u.min())
        ratio = lam / c
        best = min(best, u.size * c / (2 * math.log(10)) * (1 + math.log(ratio) - ratio))
    assert log10_chernoff(lam, c) == 0.0  # ours clamps
    return total + best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--correlated-images", type=int, default=500)
    ap.add_argument("--sigmas", type=float, nargs="*", default=[0.5, 1.0, 2.0, 4.0])
    ap.add_argument("--tail", choices=["exact", "chernoff"], default="exact")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"tail={args.tail}, mode=paper, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    for name, shapes in SHAPE_SETS.items():
        print(f"{name}: log10 N_T = {log10_polyomino_nt(shapes):.1f}")
        for std in (1.0, 0.95, 0.9):
            t = time.perf_counter()
            result = count_regions(lambda s, r: white_latents(s, r, std), shapes, args.images, rng, args.tail)
            report(f"white N(0,{std:g}^2)", result, time.perf_counter() - t)
        for std in (0.95, 0.9):
            demo = unclamped_chernoff_demo(shapes, std, rng)
            print(f"  [pitfall] unclamped Chernoff, std {std:g}: whole-image log10 NFA = {demo:.0f}")
        for sigma in args.sigmas:
            t = time.perf_counter()
            result = count_regions(
                lambda s, r: correlated_latents(s, r, sigma), shapes, args.correlated_images, rng, args.tail
            )
            report(f"correlated N(0,1), gauss sigma={sigma:g}", result, time.perf_counter() - t)


if __name__ == "__main__":
    main()
