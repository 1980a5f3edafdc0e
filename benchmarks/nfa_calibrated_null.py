"""False regions of the calibrated a contrario mode on fields of known law, over many fresh fields.

The region null is fitted on `--fit` fields (as it is on a revision's held-out normal images), then
`--fields` fresh fields of the same law are segmented; the promise is at most 10^-k regions per field at
log10 NFA <= -k. Field laws: white N(0, 1) latents, and N(0, 1) smoothed by a Gaussian of std sigma cells
(unit variance, circular) at each scale, the dependence real flows show. Shapes: the Lite0 model's
latents at 256 px (160 x 8 x 8, 76 x 16 x 16, 59 x 32 x 32, coarsest first).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nfa_calibrated_null.py            # 1000 fields per law
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nfa_calibrated_null.py --fields 200 --fit 40
    ... --per-scale      # one calibration curve per scale (joined by a union bound), whatever the count of scores

Prints per law and k: regions per field with its exact 95 % Poisson interval, the nominal 10^-k, and
whether the nominal rate lies inside or above the interval ("ok"), with the NFA time per field.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.nfa_common import correlated_latents, white_latents  # noqa: E402
from core.evaluation_plots import poisson_interval  # noqa: E402
from core.nfa import segment  # noqa: E402
from core.nfa.region_null import fit_region_null  # noqa: E402

LITE0_SHAPES = [(160, 8, 8), (76, 16, 16), (59, 32, 32)]
KS = (0, 1, 2)


def law(sigma: float):
    if sigma <= 0:
        return "white N(0,1)", lambda rng: white_latents(LITE0_SHAPES, rng)
    return f"correlated, sigma {sigma:g} cells", lambda rng: correlated_latents(LITE0_SHAPES, rng, sigma)


def run(sigma: float, n_fit: int, n_fields: int, seed: int, per_scale: bool = False) -> bool:
    name, draw = law(sigma)
    rng = np.random.default_rng(seed)
    null = fit_region_null([draw(rng) for _ in range(n_fit)], per_scale=per_scale, min_scale_scores=0)
    if per_scale:
        name += ", one curve per scale"
    counts = np.zeros((n_fields, len(KS)), dtype=np.int64)
    seconds = 0.0
    finest = LITE0_SHAPES[-1][1:]
    for i in range(n_fields):
        z = draw(rng)
        t0 = time.perf_counter()
        seg = segment(z, finest, mode="calibrated", null=null)
        seconds += time.perf_counter() - t0
        counts[i] = [seg.count_at(k) for k in KS]
    rho = ", ".join(f"{sc.rho:.1f}" for sc in null.scales)
    print(f"{name}: null fitted on {n_fit} fields (correlation area per scale {rho}); {n_fields} fresh fields; "
          f"NFA {1000 * seconds / n_fields:.2f} ms per field")
    honest = True
    for j, k in enumerate(KS):
        total = int(counts[:, j].sum())
        low, high = poisson_interval(total)
        nominal = 10.0 ** -k
        ok = low / n_fields <= nominal
        honest &= ok
        print(f"  k={k}: {total / n_fields:.4f} regions per field (95 % {low / n_fields:.4f}-{high / n_fields:.4f}), "
              f"fields with a region {np.mean(counts[:, j] > 0):.4f}; nominal {nominal:g}: "
              f"{'ok' if ok else 'ABOVE'}")
    return honest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fields", type=int, default=1000)
    parser.add_argument("--fit", type=int, default=76, help="fields the null is fitted on (76 = MTD's held-out)")
    parser.add_argument("--sigmas", default="0,1,1.5,2.5", help="smoothing std in cells, 0 = white")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-scale", action="store_true", help="one calibration curve per scale")
    args = parser.parse_args()
    results = [run(float(s), args.fit, args.fields, args.seed + i, args.per_scale)
               for i, s in enumerate(args.sigmas.split(","))]
    print("all laws within sampling error of the nominal rate" if all(results) else "some law ABOVE the nominal rate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
