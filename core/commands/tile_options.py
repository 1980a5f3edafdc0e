"""`--tile PX` / `--no-tile`, shared by `eval`, `train` and `infer`."""

from __future__ import annotations

import argparse


def add_tile_options(p: argparse.ArgumentParser, scoring: bool = False) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--tile", type=int, metavar="PX",
                       help="source pixels per tile for images more than twice the model input on a side "
                            "(default: the model's pixel scale, i.e. its input size: native resolution)"
                       + ("; scoring at another scale than the training's is rarely what you want" if scoring else ""))
    group.add_argument("--no-tile", action="store_true", help="resize every image whole to the model input")


def tile_overrides(args: argparse.Namespace) -> dict:
    """UFlowConfig fields set by the options (empty when neither is given)."""
    if getattr(args, "no_tile", False):
        return {"tiling": False}
    if getattr(args, "tile", None) is not None:
        if args.tile < 8:
            from core.errors import ContrarioError

            raise ContrarioError(f"--tile {args.tile}: a tile must cover at least 8 source pixels")
        return {"tiling": True, "tile_px": int(args.tile)}
    return {}
