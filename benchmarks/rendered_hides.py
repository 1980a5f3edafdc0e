"""Rendered leather hides (core.demo.hides): tiles at native resolution vs the whole image resized, per light.

    OMP_NUM_THREADS=2 python benchmarks/rendered_hides.py             # 10 hides of 4000 x 3000, 5 lights
    OMP_NUM_THREADS=2 python benchmarks/rendered_hides.py --small     # 10 hides of 640 x 480, 2 lights, 40 steps
    ... --lights diffuse,grazing-nw --modes tiles --json out.json

The hides are written as the demo's leather-hides case (core.demo.cases: 4 to train on, 2 good and 4
defective test hides, 3 planted defects of one kind per defective hide, kinds in turn: scratch, bite, wrinkle,
stain). For each light and mode a U-Flow model with the default configuration (offline tf_efficientnet_lite0,
input 256) trains on that light's training hides: "tiles" at native resolution (pixel scale 256), "whole" with
each image resized to 256 px (`--no-tile`). Printed per light and mode: planted defects found at k (a region
at k overlaps the defect's mask), split into relief (scratch, bite, wrinkle) and colour (stain) defects;
false regions per hide (regions at k touching no planted defect, over all test hides) and per good hide;
pixel AUROC on an evaluation grid with the longer side min(image, 1500) and at contrario eval's 256;
train and score seconds per image.

With two lights or more, two rows join the per-light models' regions on each hide ("any"): a hide's detection
is the union of its lights' regions, at k (the workbench's rule for an item of per-view models: defect if any
view has a region at k) and at k + log10(lights), the union bound that keeps at most 10^-k false alarms per
hide whatever the number of lights.

`--stacked` adds one multi-light model (UFlowConfig.stack_views): each hide's lights (those of the per-light
rows, in that order) stacked along channels, trained on the training hides and tiled like the "tiles" rows,
scored and measured the same way (row light "a+b+...", mode "stacked").

`--mixed` adds one model trained on the training hides of every light together (one notion of normal for all
lights, what a project without per-view models trains), tiled, scored on each light's test hides (rows mode
"mixed") and joined over the lights like the per-light models ("mixed any").
`--save-models DIR` keeps every trained model there (DIR/<light>-<mode>). `--variants` also measures each model's
regions with those of different scales apart (the default) and merged (`UFlowConfig.merge_scales`), each with the
half-maximum extent and with Otsu's threshold of the map's surprise (`UFlowConfig.extent_otsu`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import parse_set  # noqa: E402
from core.demo.cases import LEATHER_HIDES, write_case_images  # noqa: E402
from core.demo.hides import COLOUR_KINDS, LIGHTS, RELIEF_KINDS  # noqa: E402
from core.evaluation import discover  # noqa: E402
from core.io.mvtec import read_mask  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.ranking import pixel_auroc  # noqa: E402
from core.models.preprocess import StackedViews  # noqa: E402
from core.models.uflow import UFlowConfig, train  # noqa: E402

FINE_EVAL_SIDE = 1500


def planted(folder: Path) -> dict[str, list[tuple[str, tuple[int, int, int, int]]]]:
    """item -> [(kind, box y0 x0 y1 x1)] from the case's defects.json."""
    out: dict[str, list] = {}
    for d in json.loads((folder / "defects.json").read_text())["defects"]:
        out.setdefault(d["item"], []).append((d["kind"], tuple(d["box_yxyx"])))
    return out


class Progress:
    """Prints a training's progress to stderr every 10 %."""

    def __init__(self, label: str) -> None:
        self.label, self.next, self.t0 = label, 0.0, time.perf_counter()

    def __call__(self, fraction: float, message: str) -> None:
        if fraction >= self.next:
            print(f"  {self.label} {100 * fraction:3.0f}% {time.perf_counter() - self.t0:6.0f} s  {message}",
                  file=sys.stderr, flush=True)
            self.next = fraction + 0.1


VARIANTS = {"half maximum, regions apart": (False, False), "half maximum, scales merged": (True, False),
            "Otsu of the surprise, regions apart": (False, True),
            "Otsu of the surprise, scales merged": (True, True)}


def evaluate(model, category, defects, k: float, fine_side: int, inputs=None, keep: dict | None = None,
             variants: bool = False) -> dict:
    """Figures over category's test images; `inputs` (one per test image, e.g. stacked views) is what the model
    scores in their place; `keep`, when given, receives each test image's regions (segmented at k) by stem;
    `variants`: also the detections with each of VARIANTS' (merge_scales, extent_otsu)."""
    t0 = time.perf_counter()
    preds = model.predict(inputs or category.test, batch_size=4)
    score_s = time.perf_counter() - t0
    null = model.region_null
    detections, truths, maps_fine, maps_256, truth_fine, truth_256 = {}, {}, [], [], [], []
    by_variant: dict[str, dict] = {name: {} for name in (VARIANTS if variants else ())}
    extent = model.calibration.get("extent", {})
    chosen = (model.config.merge_scales, extent.get("otsu", False))
    for path, mask_path, pred in zip(category.test, category.masks, preds):
        shape = pred.original_shape
        seg = model.segment(pred, shape, k=k, null=null)
        detections[path.stem] = np.where(seg.mask_at(k), seg.labels, 0)
        for name, detected in by_variant.items():
            model.config.merge_scales, extent["otsu"] = VARIANTS[name]
            variant = model.segment(pred, shape, k=k, null=null)
            detected[path.stem] = np.where(variant.mask_at(k), variant.labels, 0)
        model.config.merge_scales, extent["otsu"] = chosen
        if keep is not None:
            keep[path.stem] = seg
        truth = truths[path.stem] = np.zeros(shape, dtype=bool) if mask_path is None else read_mask(mask_path, shape)
        for side, maps, on_grid in ((fine_side, maps_fine, truth_fine), (256, maps_256, truth_256)):
            a, m = eval_pair(pred.anomaly_map, truth, shape, side=side)
            maps.append(a)
            on_grid.append(m)
    return {**found_figures(category, defects, detections, truths),
            **({"variants": {name: found_figures(category, defects, detected, truths)
                             for name, detected in by_variant.items()}} if variants else {}),
            f"pixel_auroc_{fine_side}": round(pixel_auroc(maps_fine, truth_fine), 4),
            "pixel_auroc_256": round(pixel_auroc(maps_256, truth_256), 4),
            "tiles_per_image": preds[0].tiles, "score_s_per_image": round(score_s / len(preds), 2)}


def found_figures(category, defects, detections: dict[str, np.ndarray], truths: dict | None = None) -> dict:
    """Planted defects found and false regions, from each test image's detection at k (by stem): a mask, or the
    regions' labels at k (0: none); `truths`, the planted masks by stem when already read. False regions are
    counted as connected parts of the mask touching no defect (what a reviewer sees as separate outlines); with
    labels, also as whole regions (a region with a part on a defect is not false, whatever its other parts)."""
    found = {kind: [0, 0] for kind in RELIEF_KINDS + COLOUR_KINDS}
    false_regions, good_regions, false_whole = [], [], []
    for path, cls, mask_path in zip(category.test, category.defect_type, category.masks):
        region_labels = detections[path.stem]
        at_k = region_labels > 0
        truth = (truths or {}).get(path.stem)
        if truth is None:
            truth = np.zeros(at_k.shape, dtype=bool) if mask_path is None else read_mask(mask_path, at_k.shape)
        for kind, (y0, x0, y1, x1) in defects.get(path.stem, []):
            inside = truth[y0:y1, x0:x1]
            found[kind][1] += 1
            found[kind][0] += bool((at_k[y0:y1, x0:x1] & inside).any())
        labels, n = ndimage.label(at_k)
        near = ndimage.binary_dilation(truth, iterations=2)
        touching = set(np.unique(labels[near & (labels > 0)]))
        false_regions.append(n - len(touching))
        if region_labels.dtype != bool:
            false_whole.append(len(set(np.unique(region_labels[at_k])) - set(np.unique(region_labels[near & at_k]))))
        if cls == "good":
            good_regions.append(n)
    relief = [sum(found[kd][i] for kd in RELIEF_KINDS) for i in (0, 1)]
    colour = [sum(found[kd][i] for kd in COLOUR_KINDS) for i in (0, 1)]
    total = [relief[0] + colour[0], relief[1] + colour[1]]
    return {"found_at_k": f"{total[0]}/{total[1]}", "found_fraction": round(total[0] / max(total[1], 1), 3),
            "relief_found": f"{relief[0]}/{relief[1]}", "colour_found": f"{colour[0]}/{colour[1]}",
            "found_per_kind": {kd: f"{a}/{b}" for kd, (a, b) in found.items()},
            "false_regions_per_hide": round(float(np.mean(false_regions)), 3),
            "false_whole_regions_per_hide": round(float(np.mean(false_whole)), 3) if false_whole else None,
            "regions_per_good_hide": round(float(np.mean(good_regions)), 3) if good_regions else None}


def any_light_rows(folder: Path, kept: dict[str, dict], defects, k: float) -> list[dict]:
    """Each hide's regions of the per-light models (tiles) joined over the lights: at k (the workbench's item
    rule, "defect if any view has a region at k": up to one false alarm per 10^k images per light) and at
    k + log10(lights) (the union bound: at most 10^-k false alarms per hide over all its lights)."""
    lights = list(kept)
    category = discover(folder / "by-view" / lights[0])
    rows = []
    for label, level in ((f"k = {k:g}", k), (f"k + log10 {len(lights)}", k + float(np.log10(len(lights))))):
        joined = {stem: np.logical_or.reduce([kept[light][stem].mask_at(level) for light in lights])
                  for stem in kept[lights[0]]}
        rows.append({"light": "+".join(lights), "mode": "any", "threshold": label, **found_figures(
            category, defects, joined), "pixel_auroc_256": None, "train_s": None, "score_s_per_image": None})
    return rows


def run_light(folder: Path, light: str, mode: str, args, defects, fine_side: int, keep: dict | None = None) -> dict:
    category = discover(folder / "by-view" / light)
    return trained_row(light, mode, category, category.train, None, UFlowConfig(**overrides(args, mode == "tiles")),
                       args, defects, fine_side, keep=keep)


def mixed_rows(folder: Path, lights: list[str], args, defects, fine_side: int) -> list[dict]:
    """One tiled model trained on every light's training hides, scored on each light's test hides, then joined."""
    categories = {light: discover(folder / "by-view" / light) for light in lights}
    train_inputs = [path for c in categories.values() for path in c.train]
    t0 = time.perf_counter()
    model = train(train_inputs, UFlowConfig(**overrides(args, True)), progress=Progress("mixed: train"))
    train_s = round(time.perf_counter() - t0, 1)
    save_model(model, args, "mixed")
    rows, kept = [], {}
    for light, category in categories.items():
        row = {"light": light, "mode": "mixed", "train_s": train_s, "calibrated_regions": model.regions_calibrated}
        row.update(evaluate(model, category, defects, args.k, fine_side, keep=kept.setdefault(light, {}),
                            variants=args.variants))
        rows.append(row)
        print(json.dumps(row), flush=True)
    for row in any_light_rows(folder, kept, defects, args.k):
        row["mode"] = "mixed any"
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def save_model(model, args, name: str) -> None:
    if args.save_models:
        model.save(Path(args.save_models) / name)


def overrides(args, tiling: bool) -> dict:
    out = {"seed": args.seed, "tiling": tiling, **parse_set(args.set)}
    if args.steps:
        out["train_steps"] = args.steps
    return out


def trained_row(light: str, mode: str, category, train_inputs, test_inputs, config, args, defects,
                fine_side: int, keep: dict | None = None) -> dict:
    t0 = time.perf_counter()
    model = train(train_inputs, config, progress=Progress(f"{light} {mode}: train"))
    save_model(model, args, f"{light}-{mode}")
    out = {"light": light, "mode": mode, "train_s": round(time.perf_counter() - t0, 1),
           "calibrated_regions": model.regions_calibrated,
           "layout": "U shape" if model.config.scale_context else "one flow per scale"}
    out.update(evaluate(model, category, defects, args.k, fine_side, test_inputs, keep, variants=args.variants))
    return out


def stacked_row(folder: Path, lights: list[str], args, defects, fine_side: int) -> dict:
    """One model on each hide's lights stacked along channels in `lights` order, tiled like the "tiles" rows."""
    categories = [discover(folder / "by-view" / light) for light in lights]

    def stacked(split: str) -> list[StackedViews]:
        per_light = [getattr(c, split) for c in categories]
        if len({tuple(p.stem for p in paths) for paths in per_light}) != 1:
            raise SystemExit(f"the lights' {split} hides differ: cannot stack them")
        return [StackedViews(tuple(views), tuple(f"{light}/{p.name}" for light, p in zip(lights, views)))
                for views in zip(*per_light)]

    config = UFlowConfig(**overrides(args, True), stack_views=len(lights))
    row = trained_row("+".join(lights), "stacked", categories[0], stacked("train"), stacked("test"), config, args,
                      defects, fine_side)
    return {**row, "tiling": "tiles"}


def table(rows: list[dict], fine_side: int) -> str:
    w = max([11] + [len(r["light"]) for r in rows])
    m = max([7] + [len(mode_of(r)) for r in rows])
    head = (f"{'light':<{w}} {'mode':<{m}} {'found':>6} {'relief':>7} {'colour':>7} {'false/hide':>10} "
            f"{'good/hide':>9} {'AUROC@' + str(fine_side):>11} {'AUROC@256':>9} {'train s':>8} {'score s/img':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['light']:<{w}} {mode_of(r):<{m}} {r['found_at_k']:>6} {r['relief_found']:>7} "
                     f"{r['colour_found']:>7} {r['false_regions_per_hide']:>10} {r['regions_per_good_hide']!s:>9} "
                     f"{r.get(f'pixel_auroc_{fine_side}') or '-':>11} {r['pixel_auroc_256'] or '-':>9} "
                     f"{r['train_s'] or '-':>8} {r['score_s_per_image'] or '-':>11}")
    return "\n".join(lines)


def variants_table(rows: list[dict]) -> str:
    lines = ["| light | mode | segmentation | found | false marks per hide | false whole regions per hide | "
             "regions per good hide |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        for name, v in r.get("variants", {}).items():
            lines.append(f"| {r['light']} | {r['mode']} | {name} | {v['found_at_k']} | {v['false_regions_per_hide']} | "
                         f"{v['false_whole_regions_per_hide']} | {v['regions_per_good_hide']} |")
    return "\n".join(lines)


def mode_of(row: dict) -> str:
    return f"{row['mode']} at {row['threshold']}" if "threshold" in row else row["mode"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="640 x 480 hides (still tiled: over twice the input), lights diffuse and grazing-nw, 40 steps")
    parser.add_argument("--hides", type=int, default=10, help="hides in all (2/5 defective, 1/5 good test)")
    parser.add_argument("--k", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the model's; --small 40)")
    parser.add_argument("--lights", help="comma-separated (default: all five; --small: diffuse,grazing-nw)")
    parser.add_argument("--modes", default="tiles,whole", help='per-light models: "tiles", "whole" or both; "" for none')
    parser.add_argument("--stacked", action="store_true",
                        help="also one model on each hide's lights stacked along channels (tiled)")
    parser.add_argument("--mixed", action="store_true",
                        help="also one tiled model trained on every light's training hides together")
    parser.add_argument("--variants", action="store_true",
                        help="also each model's detections with regions of different scales merged and apart, each with the "
                             "half-maximum extent and with Otsu's threshold of the map's surprise")
    parser.add_argument("--save-models", metavar="DIR", help="keep the trained models in DIR")
    parser.add_argument("--folder", help="keep the rendered hides here (default: a temporary folder)")
    parser.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    parser.add_argument("--set", default="", help='UFlowConfig overrides, e.g. "feature_pool=1"')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    size = (640, 480) if args.small else (4000, 3000)
    if args.small and args.steps is None:
        args.steps = 40
    lights = (args.lights or ("diffuse,grazing-nw" if args.small else ",".join(LIGHTS))).split(",")
    unknown = [x for x in lights if x not in LIGHTS]
    if unknown:
        parser.error(f"unknown light {unknown[0]!r}; choose from {', '.join(LIGHTS)}")
    if args.stacked and len(lights) < 2:
        parser.error("--stacked needs at least two lights")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp)
        t0 = time.perf_counter()
        write_case_images(LEATHER_HIDES, folder, seed=args.seed, items=args.hides, size=size)
        render_s = time.perf_counter() - t0
        fine_side = min(max(size), FINE_EVAL_SIDE)
        setup = {"hides": args.hides, "lights": lights, "image": f"{size[0]}x{size[1]}", "k": args.k, "steps": args.steps,
                 "threads": args.threads, "render_and_write_s_per_hide": round(render_s / args.hides, 2)}
        print(json.dumps(setup), flush=True)
        rows = []
        defects = planted(folder)
        kept: dict[str, dict] = {}
        for light in lights:
            for mode in filter(None, args.modes.split(",")):
                keep = kept.setdefault(light, {}) if mode == "tiles" else None
                rows.append(run_light(folder, light, mode, args, defects, fine_side, keep))
                print(json.dumps(rows[-1]), flush=True)
        if len(kept) > 1:
            for row in any_light_rows(folder, kept, defects, args.k):
                rows.append(row)
                print(json.dumps(row), flush=True)
        if args.stacked:
            rows.append(stacked_row(folder, lights, args, defects, fine_side))
            print(json.dumps(rows[-1]), flush=True)
        if args.mixed:
            rows.extend(mixed_rows(folder, lights, args, defects, fine_side))
    print(table(rows, fine_side))
    if args.variants:
        print(variants_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"setup": setup, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
