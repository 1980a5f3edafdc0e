"""Which flips and turns look normal (core.models.uflow.orientation), on a category and on textures whose
orientation is known.

    python benchmarks/orientation_check.py /work/shared/data/mtd/magnetic_tile --shots 16
    python benchmarks/orientation_check.py --known

With more than orientation.MAX_IMAGES images, or images large enough to be tiled, it checks what training
checks for the flow's layout: a random sample of the images, or of tile windows.

Prints, per transform, the shift of the copies' scores over the images' at each scale (finest first), in
interquartile ranges of the images' scores, and whether training would add the copies (every shift <= orientation.MAX_SHIFT_IQR).
--known generates 16 images of each: noise (no orientation), horizontal stripes (flips keep them, turns do not),
diagonal stripes (the half turn and both transposes keep them), a dark disc at a fixed place (nothing keeps it),
a light falling off from top to bottom (only the left-right flip keeps it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation import discover  # noqa: E402
from core.models.preprocess import load_rgb  # noqa: E402
from core.models.uflow import UFlowConfig, UFlowModel, orientation, tiling  # noqa: E402
from core.progress import NEVER_CANCELLED  # noqa: E402

train = importlib.import_module("core.models.uflow.train")
KNOWN = ("noise", "stripes", "diagonal", "disc", "light")


def known_texture(kind: str, n: int = 16, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float32)
    out = []
    for _ in range(n):
        img = 128 + 20 * rng.standard_normal((256, 256)).astype(np.float32)
        if kind == "stripes":
            img += 40 * np.sin(2 * np.pi * yy / 12 + rng.uniform(0, 2 * np.pi))
        elif kind == "diagonal":
            img += 40 * np.sin(2 * np.pi * (yy + xx) / 14 + rng.uniform(0, 2 * np.pi))
        elif kind == "disc":
            img -= 80 * (((yy - 70) ** 2 + (xx - 90) ** 2) < 30 ** 2)
        elif kind == "light":
            img += 60 * (0.5 - yy / 256)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def check(name: str, images, config: UFlowConfig, model: UFlowModel) -> None:
    started = time.perf_counter()
    loaded = [load_rgb(im) for im in images]
    tiled = bool(config.tiling) and train._tiles_most(config, loaded)
    if tiled or len(loaded) > orientation.MAX_IMAGES:
        # as training checks the layout where it adds no copies: a sample of images, or of windows of tiled ones
        loaded = train.layout_samples(loaded, tiled, config.seed, tiling.pixel_scale(config))
        name += f" ({len(loaded)} {'tile windows' if tiled else 'images drawn'}: the layout check)"
    extracted = {}  # when the features of the images and their copies were done
    checked, kept, shifts = train._layout_check(model, loaded, NEVER_CANCELLED, config.seed,
                                                lambda f: extracted.setdefault("at", time.perf_counter()) if f >= 1 else None)
    if not checked:
        print(f"{name}: {len(loaded)} images, too few to check (at least {orientation.MIN_IMAGES})")
        return
    print(f"{name}: {len(loaded)} images, features {extracted['at'] - started:.1f} s, "
          f"check {time.perf_counter() - extracted['at']:.1f} s")
    for t, label in enumerate(orientation.TRANSFORMS):
        row = " ".join(f"{v:8.2f}" for v in shifts[t])
        print(f"  {label:24s} {row}   {'kept' if t in kept else 'not kept'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("category_dir", type=Path, nargs="?")
    parser.add_argument("--shots", type=int, default=16)
    parser.add_argument("--known", action="store_true", help="the generated textures of known orientation")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.category_dir is None and not args.known:
        parser.error("give a category folder, --known, or both")
    torch.set_num_threads(args.threads)
    config = UFlowConfig()
    model = UFlowModel(config)
    if args.category_dir is not None:
        check(str(args.category_dir), discover(args.category_dir, shots=args.shots).train, config, model)
    if args.known:
        for kind in KNOWN:
            check(kind, known_texture(kind), config, model)


if __name__ == "__main__":
    main()
