"""Compare U-Flow settings on one category with backbone features cached on disk (for fast iteration).

    python benchmarks/uflow_sweep.py /work/shared/data/mtd/magnetic_tile --shots 16 \
        --set train_steps=300 --set "train_steps=600;lr=5e-4"

Each --set is one configuration (semicolon-separated UFlowConfig fields); prints one line of figures each (with the
held-out negative log-likelihood per dimension where the run holds images out).
Timings are not meaningful here (features come from the cache); use benchmarks/eval_mtd.sh for them.
--nfa adds the a contrario figures; --json writes the full figures (as `contrario eval` does) of the last --set.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.evaluation import run_eval  # noqa: E402
from core.models.backbones import FeatureExtractor, build_backbone, get_spec  # noqa: E402
from core.models.uflow import UFlowConfig  # noqa: E402


class CachedBackbone(FeatureExtractor):
    """Wraps an extractor; remembers its outputs per input tensor (keyed by content) on disk."""

    def __init__(self, inner: FeatureExtractor, cache_dir: Path):
        super().__init__(inner.spec, inner.body, inner._run, inner.pretrained)
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        outs: list[list[torch.Tensor]] = []
        for x in rgb:
            key = hashlib.sha1(x.numpy().tobytes()).hexdigest()
            path = self.cache_dir / f"{key}.pt"
            if path.exists():
                feats = torch.load(path, weights_only=True)
            else:
                feats = [f[0].half() for f in super().forward(x[None])]
                torch.save(feats, path)
            outs.append([f.float() for f in feats])
        return [torch.stack([o[i] for o in outs]) for i in range(len(outs[0]))]


def parse_set(text: str) -> dict:
    out = {}
    for item in filter(None, text.split(";")):
        key, value = item.split("=", 1)
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def configurations(sets: list[str], cache: Path):
    """(text, UFlowConfig, CachedBackbone) per --set; one cached backbone per (name, weights), cached per scale set."""
    backbones: dict[tuple, CachedBackbone] = {}
    for text in sets or [""]:
        config = UFlowConfig(**parse_set(text))
        key = (config.backbone, config.backbone_weights)
        if key not in backbones:
            backbones[key] = CachedBackbone(build_backbone(config.backbone, config.backbone_weights),
                                            cache / f"{config.backbone}-s{'-'.join(map(str, get_spec(config.backbone).strides))}")
        yield text, config, backbones[key]


def sweep_parser() -> argparse.ArgumentParser:
    """The arguments every cached-feature sweep takes: a category, --shots, --set (repeatable), --cache, --threads."""
    parser = argparse.ArgumentParser()
    parser.add_argument("category_dir", type=Path)
    parser.add_argument("--shots", type=int, default=None)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/contrario_feature_cache"))
    parser.add_argument("--threads", type=int, default=2)
    return parser


def main() -> None:
    parser = sweep_parser()
    parser.add_argument("--nfa", action="store_true", help="also run the NFA segmentation (miou_nfa etc.)")
    parser.add_argument("--json", type=Path, default=None, help="write the full figures of the last --set here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for text, config, backbone in configurations(args.set, args.cache):
        r = run_eval(args.category_dir, config, shots=args.shots, backbone=backbone, with_nfa=args.nfa)
        if args.json is not None:
            args.json.write_text(json.dumps(r, indent=1))
        print(json.dumps({"set": text, "image_auroc": round(r["image_auroc"], 4),
                          "pixel_auroc": round(r["pixel_auroc"], 4) if r["pixel_auroc"] else None,
                          "aupro": round(r["aupro"], 4) if r["aupro"] else None,
                          "holdout_mean_z2": [round(v, 2) for v in r["holdout_calibration"]],
                          "test_good_mean_z2": [round(v, 2) for v in r["calibration"]],
                          "miou_nfa": r.get("miou_nfa"), "good_with_detection": r.get("good_images_with_detection"),
                          "holdout_nll_per_dim": r["training"].get("holdout_nll_per_dim"),
                          "train_s": round(r["train_seconds"], 1)}), flush=True)


if __name__ == "__main__":
    main()
