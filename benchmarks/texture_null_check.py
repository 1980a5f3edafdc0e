"""Is the region null fitted on cross-fitted latents a fair stand-in for the full model on new normal images?

    OMP_NUM_THREADS=2 python benchmarks/texture_null_check.py [--fresh 24]

On tiled_texture.py's reduced case (750 x 500 grain, 4 training images, default configuration, tiles): prints
the null's cell statistics per scale (mean u / C, var u / C, correlation area; coarsest first) next to the same
statistics of the full model's latents on new good images, the held-out region scores the calibration was
fitted on next to each new image's largest region score under the same null, and the regions per image at
k = 0, 1, 2 on the second half of the new images with the revision's null and with a null fitted on the first half.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tiled_texture import grain  # noqa: E402
from core.models.uflow import UFlowConfig, train  # noqa: E402
from core.nfa import segment  # noqa: E402
from core.nfa.region_null import estimate_scales, fit_region_null  # noqa: E402
from core.nfa.segmentation import region_scores  # noqa: E402


def _stats(scales) -> list[tuple[float, float, float]]:
    return [(round(s.mu / s.channels, 3), round(s.var / s.channels, 3), round(s.rho, 2)) for s in scales]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", type=int, default=24, help="new good images (even)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    h, w = 500, 750
    rng = np.random.default_rng(0)
    training = [grain(rng, h, w) for _ in range(4)]
    fresh = [grain(np.random.default_rng([5, i]), h, w) for i in range(args.fresh)]
    model = train(training, UFlowConfig(seed=0, tiling=True))
    null = model.region_null
    print("null (cross-fitted held-out latents): mean u/C, var u/C, correlation area per scale", _stats(null.scales))
    print("held-out region scores, largest first:", [round(x, 2) for x in null.calibration.scores[:8]],
          "from", null.calibration.n_images, "images")
    preds = model.predict(fresh, batch_size=4)
    latents = [p.latents for p in preds]
    print("full model on new good images: mean u/C, var u/C, correlation area", _stats(estimate_scales(latents)))
    largest = sorted((max(region_scores(z, null) or [float("-inf")]) for z in latents), reverse=True)
    print("largest region score of each new image under the same null:", [round(x, 2) for x in largest[:12]])
    half = len(fresh) // 2
    fresh_null = fit_region_null(latents[:half], source="new good images (first half)")
    for name, n in (("the revision's null", null), ("a null fitted on the first half", fresh_null)):
        counts = np.array([[segment(z, p.input_shape, mode="calibrated", null=n).count_at(k) for k in (0, 1, 2)]
                           for z, p in zip(latents[half:], preds[half:])])
        print(f"{name}: regions per image at k = 0, 1, 2 on the other {len(fresh) - half}:", counts.mean(0).round(3))


if __name__ == "__main__":
    main()
