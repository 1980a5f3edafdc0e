"""`contrario eval CATEGORY_DIR`: train U-Flow on train/good, score test/, write the figures as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.commands.tile_options import add_tile_options, tile_overrides
from core.commands.training_options import add_training_options
from core.jobs.payloads import training_overrides


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="benchmark U-Flow on an MVTec-layout category folder",
                              description="Train on CATEGORY_DIR/train/good and score every image under test/.")
    p.add_argument("category_dir", metavar="CATEGORY_DIR", type=Path)
    p.add_argument("--shots", type=int, default=None, help="train on the first N training images (sorted by name)")
    p.add_argument("--backbone", default="tf_efficientnet_lite0")
    p.add_argument("--backbone-weights", default=None, help="weights file (or folder for ms_cait)")
    p.add_argument("--input-size", type=int, default=None, help="input side in pixels (default: the model's)")
    p.add_argument("--resize", choices=["square", "keep_aspect"], default=None)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (default: grows with the training images)")
    p.add_argument("--seed", type=int, default=0)
    add_training_options(p)
    p.add_argument("--k", type=float, default=0.0, help="NFA threshold: log10 NFA <= -k")
    add_tile_options(p)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--json", type=Path, required=True, metavar="OUT", help="where to write the figures")
    p.add_argument("--plot", type=Path, default=None, metavar="DIR",
                   help="also write the honesty curve and detection / mIoU against k as PNG files in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from core.evaluation import run_eval
    from core.models.uflow import UFlowConfig

    torch.set_num_threads(args.threads)
    overrides = {"backbone": args.backbone, "backbone_weights": args.backbone_weights, "seed": args.seed}
    for name, value in (("input_size", args.input_size), ("resize", args.resize), ("train_steps", args.steps)):
        if value is not None:
            overrides[name] = value
    overrides.update(tile_overrides(args))
    overrides.update(training_overrides(args.flips, args.keep_exposure, args.scales))
    config = UFlowConfig(**overrides)
    bar = tqdm(total=1000, unit="‰", bar_format="{l_bar}{bar}| {elapsed}<{remaining} {postfix}", file=sys.stderr)

    def progress(fraction: float, message: str) -> None:
        bar.update(max(0, int(fraction * 1000) - bar.n))
        bar.set_description(message[:48], refresh=False)

    try:
        result = run_eval(args.category_dir, config, shots=args.shots, k=args.k, progress=progress)
    finally:
        bar.close()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    if args.plot is not None:
        from core.evaluation_plots import write_eval_plots

        for path in write_eval_plots(result, args.plot):
            print(f"wrote {path}")
    keys = ("image_auroc", "pixel_auroc", "aupro", "miou_nfa", "good_images_with_detection", "train_seconds",
            "backbone_ms_per_image", "infer_ms_per_image")
    print(" ".join(f"{k}={result[k]:.4g}" if isinstance(result.get(k), float) else f"{k}={result.get(k)}" for k in keys))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run this command alone (benchmarks), without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="contrario")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", *(argv if argv is not None else sys.argv[1:])])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
