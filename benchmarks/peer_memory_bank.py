"""U-Flow next to a PatchCore-style memory bank on the same backbone features, in one run on the same images.

    python benchmarks/peer_memory_bank.py /work/shared/data/mtd/magnetic_tile [--shots 16] [--set "field=value"]

The peer: the model's backbone at the model's input size; the stride-8 and stride-16 maps, each averaged over
3x3 neighbours, the stride-16 map upsampled to stride 8 and concatenated; a bank of at most 40,000 training
patches drawn at random (seed 0); a test patch's score is its Euclidean distance to the nearest bank patch;
the map is the patch scores upsampled to the input and blurred (Gaussian, std 4 px) as in PatchCore, the
image score its maximum (the largest raw patch score, PatchCore's own, is printed too). U-Flow runs with
`contrario eval`'s defaults (or --set overrides), its a contrario regions included (--no-nfa skips them).
Both are evaluated with the same code (core.evaluation). Prints one row each and their ratio; --json writes
both result dicts. --peer-exposure adds a row for the peer on inputs evened out as U-Flow's are (each image's
mean grey level brought to the training images' median: core.models.preprocess.with_exposure). Timings are only
meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.uflow_sweep import parse_set  # noqa: E402
from core.evaluation import _read_mask, discover, run_eval  # noqa: E402
from core.metrics.pixel_eval import eval_pair  # noqa: E402
from core.metrics.ranking import image_auroc, pixel_auroc  # noqa: E402
from core.models.backbones import FeatureExtractor, build_backbone, get_spec  # noqa: E402
from core.models.preprocess import load_rgb, mean_levels, median_levels, target_shape, with_exposure  # noqa: E402
from core.models.uflow import UFlowConfig  # noqa: E402
from core.models.uflow.model import smooth_map  # noqa: E402

BANK_SIZE = 40_000
PEER_STRIDES = (8, 16)
MAP_SIGMA = 4.0


@torch.no_grad()
def patch_features(backbone: FeatureExtractor, images, config: UFlowConfig, batch_size: int = 8,
                   exposure: list[float] | None = None):
    """Per image: (C, H8, W8) locally averaged, concatenated stride-8/16 features, its input and original shape."""
    spec = backbone.spec
    levels = [spec.strides.index(s) for s in PEER_STRIDES]
    out = []
    for start in range(0, len(images), batch_size):
        loaded = [load_rgb(p) for p in images[start:start + batch_size]]
        if exposure is not None:
            loaded = [with_exposure(im, exposure) for im in loaded]
        shapes = [target_shape(im.shape, config.input_size, config.resize, max(spec.strides)) for im in loaded]
        for im, shape in zip(loaded, shapes):
            maps = backbone(im.input_tensor(shape))
            pooled = [F.avg_pool2d(maps[i], 3, 1, 1, count_include_pad=False) for i in levels]
            size = pooled[0].shape[-2:]
            joined = torch.cat([pooled[0]] + [F.interpolate(p, size=size, mode="bilinear", align_corners=False)
                                               for p in pooled[1:]], dim=1)
            out.append((joined[0], shape, im.shape))
    return out


def build_bank(train_feats, size: int = BANK_SIZE, seed: int = 0) -> torch.Tensor:
    patches = torch.cat([f.flatten(1).T for f, _, _ in train_feats])
    if len(patches) > size:
        idx = torch.randperm(len(patches), generator=torch.Generator().manual_seed(seed))[:size]
        patches = patches[idx]
    return patches.contiguous()


@torch.no_grad()
def nearest_distance(queries: torch.Tensor, bank: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    bank_sq = (bank ** 2).sum(1)
    out = []
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        d2 = (q ** 2).sum(1, keepdim=True) - 2 * q @ bank.T + bank_sq[None]
        out.append(d2.min(1).values.clamp_min(0).sqrt())
    return torch.cat(out)


def run_peer(category_dir: Path, config: UFlowConfig, shots: int | None, backbone: FeatureExtractor,
             even_exposure: bool = False) -> dict:
    data = discover(category_dir, shots)
    t0 = time.perf_counter()
    train_images, exposure = data.train, None
    if even_exposure:  # decoded once: their levels set the reference, then they give the bank's features
        train_images = [load_rgb(p) for p in data.train]
        exposure = median_levels([mean_levels(im) for im in train_images])
    bank = build_bank(patch_features(backbone, train_images, config, exposure=exposure))
    fit_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    test_feats = patch_features(backbone, data.test, config, exposure=exposure)
    patch_max, scores, maps = [], [], []
    for feats, input_shape, _ in test_feats:
        d = nearest_distance(feats.flatten(1).T, bank).view(1, 1, *feats.shape[-2:])
        patch_max.append(float(d.max()))
        up = F.interpolate(d, size=input_shape, mode="bilinear", align_corners=False)[:, 0]
        maps.append(smooth_map(up, MAP_SIGMA)[0].numpy())
        scores.append(float(maps[-1].max()))
    score_seconds = time.perf_counter() - t1
    defective = [d != "good" for d in data.defect_type]
    result = {"model": "memory bank", "bank_patches": int(len(bank)), "patch_channels": int(bank.shape[1]),
              "image_auroc": image_auroc(scores, defective), "pixel_auroc": None,
              "image_auroc_patch_max": image_auroc(patch_max, defective),
              "fit_seconds": fit_seconds, "infer_wall_ms_per_image": 1000 * score_seconds / len(data.test)}
    if data.has_masks:
        pairs = [eval_pair(m, _read_mask(mask, original), original)
                 for m, mask, (_, _, original) in zip(maps, data.masks, test_feats)]
        result["pixel_auroc"] = pixel_auroc([a for a, _ in pairs], [b for _, b in pairs])
    return result


def _row(name: str, r: dict, seconds_key: str) -> str:
    pix = f"{r['pixel_auroc']:.4f}" if r.get("pixel_auroc") is not None else "—"
    return f"| {name} | {r['image_auroc']:.4f} | {pix} | {r[seconds_key]:.0f} | {r['infer_wall_ms_per_image']:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("category_dir", type=Path)
    parser.add_argument("--shots", type=int, default=None)
    parser.add_argument("--set", default="", help="U-Flow config overrides, e.g. \"feature_pooling=1\"")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--peer-exposure", action="store_true", help="also run the peer on evened-out exposures")
    parser.add_argument("--no-nfa", action="store_true", help="skip U-Flow's a contrario regions (by_k figures)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = UFlowConfig(**parse_set(args.set))
    backbone = build_backbone(config.backbone, config.backbone_weights)
    if backbone.spec.name != get_spec(config.backbone).name:
        raise SystemExit("backbone mismatch")
    uflow = run_eval(args.category_dir, config, shots=args.shots, backbone=backbone, with_nfa=not args.no_nfa)
    peer = run_peer(args.category_dir, config, args.shots, backbone)
    peer_even = run_peer(args.category_dir, config, args.shots, backbone, even_exposure=True) if args.peer_exposure else None
    ks = [round(v, 3) for v in uflow["holdout_ks"]]
    print(f"{args.category_dir} shots={args.shots or 'all'} set={args.set or 'defaults'}")
    print("| model | image AUROC | pixel AUROC | fit s | ms / test image |")
    print("|---|---|---|---|---|")
    print(_row("U-Flow", uflow, "train_seconds"))
    print(_row("memory bank", peer, "fit_seconds"))
    if peer_even is not None:
        print(_row("memory bank, exposure evened out", peer_even, "fit_seconds"))
    print(f"(memory bank image AUROC with the largest raw patch score instead: {peer['image_auroc_patch_max']:.4f})")
    ratio_pix = (f"{uflow['pixel_auroc'] / peer['pixel_auroc']:.3f}"
                 if uflow.get("pixel_auroc") and peer.get("pixel_auroc") else "—")
    print(f"| U-Flow / memory bank | {uflow['image_auroc'] / peer['image_auroc']:.3f} | {ratio_pix} | | |")
    print(f"held-out latent KS distance to chi2 per scale (coarsest first): {ks}")
    if "by_k" in uflow:
        print(f"U-Flow regions ({uflow['nfa_mode']} mode, {uflow['nfa_ms_per_image']:.1f} ms per image):")
        print("| k | regions per good image | good images flagged | defective images found | mIoU |")
        print("|---|---|---|---|---|")
        for k, f in uflow["by_k"].items():
            miou = f"{f['miou']:.3f}" if f["miou"] is not None else "—"
            print(f"| {k} | {f['regions_per_good_image']:.3f} | {f['good_images_with_detection']:.3f} "
                  f"| {f['defect_images_with_detection']:.3f} | {miou} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"uflow": uflow, "memory_bank": peer, "memory_bank_even_exposure": peer_even},
                                        indent=1))


if __name__ == "__main__":
    main()
