"""One region calibration curve for every latent scale, or one curve per scale: both on the same model and regions.

    python benchmarks/region_calibration.py /work/shared/data/mtd/magnetic_tile [--shots 16] [--set ...]
    python benchmarks/region_calibration.py DIR --tiled          # images scored in tiles (rendered hides, ...)
    python benchmarks/region_calibration.py DIR --shots 100 --draw 0   # 100 training images drawn at random

Trains U-Flow once (cached backbone features, as benchmarks/uflow_sweep.py; `--tiled` computes them instead, as
tiled training needs) with `calibrate_per_scale`, which stores both curves where every scale has enough held-out
region scores (core.nfa.region_null.MIN_SCALE_SCORES; `--min-scale-scores 0` fits them whatever the count), then segments
the test images with each and prints `contrario eval`'s figures by k: regions per good image, good images with a
region, defective images whose mask overlaps the defect (any region where there is no mask) and mIoU; before them
the maps' image and pixel AUROC and AUPRO, which the calibration does not change. Also the
held-out regions' largest model scores per scale: where one scale's tail is much heavier than the others', one
curve lets it set every scale's threshold.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import configurations, sweep_parser  # noqa: E402
from core.evaluation import BY_K, _figures_at, _read_mask, discover  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.pro import aupro  # noqa: E402
from core.metrics.ranking import image_auroc, pixel_auroc  # noqa: E402
from core.models.uflow import train  # noqa: E402
from core.nfa import region_null  # noqa: E402


def main() -> None:
    parser = sweep_parser()
    parser.add_argument("--tiled", action="store_true", help="no feature cache: the images are scored in tiles")
    parser.add_argument("--draw", type=int, default=None, metavar="SEED",
                        help="with --shots: that many training images drawn at random (this seed), not the first ones")
    parser.add_argument("--min-scale-scores", type=int, default=None,
                        help="held-out region scores every scale needs for curves of its own (default: the library's)")
    args = parser.parse_args()
    if args.min_scale_scores is not None:
        region_null.MIN_SCALE_SCORES = args.min_scale_scores
    torch.set_num_threads(args.threads)
    data = discover(args.category_dir, None if args.draw is not None else args.shots)
    if args.draw is not None and args.shots:
        rng = np.random.default_rng(args.draw)
        data.train = [data.train[i] for i in sorted(rng.choice(len(data.train), args.shots, replace=False).tolist())]
    runs = ([(text, config, None) for text, config, _ in configurations(args.set, args.cache)] if args.tiled
            else configurations(args.set, args.cache))
    for text, config, backbone in runs:
        if not config.calibrate_per_scale:
            sys.exit("leave calibrate_per_scale on: the run compares its curves with the single one")
        model = train(data.train, config, backbone=backbone)
        per_scale = model.region_null
        if per_scale is None:
            sys.exit("too few training images for a region calibration")
        if per_scale.scale_calibrations is None:
            print(per_scale.notes[0])
            continue
        one_curve = copy.deepcopy(per_scale)
        one_curve.scale_calibrations = None
        preds = model.predict(data.test, batch_size=4)
        defective = [d != "good" for d in data.defect_type]
        masks = ([_read_mask(m, p.original_shape) for m, p in zip(data.masks, preds)] if data.has_masks else None)
        print(f"{args.category_dir} shots={args.shots} set={text!r}: {sum(defective)} defective and "
              f"{len(defective) - sum(defective)} good test images, {per_scale.calibration.n_images} held-out images")
        ranking = f"image AUROC {image_auroc([p.score for p in preds], defective):.3f}"
        if masks is not None:
            pairs = [eval_pair(p.anomaly_map, m, p.original_shape) for p, m in zip(preds, masks)]
            maps, truths = [a for a, _ in pairs], [m for _, m in pairs]
            ranking += f", pixel AUROC {pixel_auroc(maps, truths):.3f}, AUPRO {aupro(maps, truths, max_fpr=0.3):.3f}"
        print(f"  {ranking} (the maps: the same for both curves)")
        for level, cal in enumerate(per_scale.scale_calibrations):
            print(f"  scale {level} ({per_scale.scales[level].channels} channels): {len(cal.scores)} held-out region "
                  f"scores, largest {[round(t, 1) for t in cal.scores[:5]]}, tail scale {cal.beta:.2f}")
        print("| calibration | k | regions per good image | good images flagged | defective images found | mIoU |")
        print("|---|---|---|---|---|---|")
        for name, null in (("one curve", one_curve), ("one curve per scale", per_scale)):
            segs = [model.segment(p, p.original_shape, k=0.0, null=null) for p in preds]
            for k in BY_K:
                f = _figures_at(segs, defective, masks, k)
                miou = "" if f["miou"] is None else f"{f['miou']:.3f}"
                print(f"| {name} | {k:g} | {f['regions_per_good_image']:.3f} | {f['good_images_with_detection']:.3f} | "
                      f"{f['defect_images_with_detection']:.3f} | {miou} |", flush=True)


if __name__ == "__main__":
    main()
