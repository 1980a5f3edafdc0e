"""A trained U-Flow model: frozen backbone + feature standardisation + flow; inference and (de)serialisation."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import ModelError
from core.models.backbones import FeatureExtractor, build_backbone, get_spec
from core.models.preprocess import RESIZE_POLICIES, ImageInput, LoadedImage, load_rgb, target_shape, with_exposure
from core.models.uflow.flow import build_uflow
from core.nfa.extent import DEFAULT_QUANTILE, HALF_MAXIMUM
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress

FORMAT = "contrario-uflow/1"
AUTO_FLIPS = -1  # UFlowConfig.image_flips: the flips and turns the training images show to look normal


@dataclass
class UFlowConfig:
    """Everything that defines a U-Flow model and its training. Defaults run offline on a CPU."""

    backbone: str = "tf_efficientnet_lite0"
    backbone_weights: str | None = None  # a file (or folder for ms_cait); None = offline package / cache
    random_backbone: bool = False  # tests and timing only
    input_size: int = 256  # side of the square input, or sqrt of the area for keep_aspect
    resize: str = "square"  # see core.models.preprocess
    strides: tuple[int, ...] | None = None  # backbone scales to use (None = the backbone's model_strides)
    feature_pool: int = 3  # side (cells) of an average over each cell's neighbourhood before the flow; 1 = none
    pool_strides: tuple[int, ...] = (8,)  # the scales that average: the finest, whose 8 px cells see the least
    # context (MTD, all images: found at k = 2 0.702 -> 0.750, pixel AUROC 0.831 -> 0.834; 16 images unchanged).
    # Also averaging stride 16 cost 16-image MTD 0.015 image AUROC
    flow_steps: int = 4  # Glow blocks per stage
    clamp: float = 2.0
    hidden_ratio: float = 1.0  # subnet filters / input channels
    scale_context: bool | None = None  # True, the U shape: each finer scale's flow also sees half of the coarser
    # stage's output. False: one flow per scale, so a cell's latents hold only its own scale's features; uniform
    # textures, where the context says nothing about what is normal and carries a defect's excess to the cells
    # around it, get sharper maps (generated leather, 16 images: pixel AUROC 0.985 -> 0.996), while parts with a
    # layout lose (MTD, all images: image AUROC 0.954 -> 0.923, found at k = 2 0.750 -> 0.610). None: chosen when
    # training (train.chosen_scale_context): one flow per scale where the orientation check finds every flip and
    # turn of the training images normal (of a sample of them, or of tile windows, where training adds no checked
    # copies), a look with no layout or direction; else the U shape. Stored resolved
    train_steps: int | None = None  # optimiser steps; None = the automatic budget of steps_for
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 16
    crop_cells: int = 4  # keep_aspect training crops, in coarsest-scale cells
    flip_augment: bool = False  # horizontal/vertical flips of the cached features
    image_flips: int = -1  # extra training samples per image from flipped or turned images (the first
    # image_flips of core.models.uflow.orientation.TRANSFORMS: 1 left-right, 3 and up-down and both, 7 and the turns
    # and transposes): backbone features of the transformed image, not a transformed feature map. AUTO_FLIPS (-1):
    # the transforms the training images show to look normal (orientation.normal_transforms), with fewer than
    # crossfit_below images resized whole, else none (16 images: MTD keeps the three flips, image AUROC 0.780 ->
    # 0.810; the generated leather all seven, pixel AUROC 0.978 -> 0.985)
    feature_noise: float = 0.5  # std of Gaussian noise on the standardised features while training, at up to
    # noise_reference_images images: a smoothing bandwidth of the learned density (without it, 16 training
    # images gave normal test images mean z^2 6-17 instead of 1-1.6)
    holdout_fraction: float = 0.1  # normal images kept out of training for calibration (from crossfit_below on)
    crossfit_below: int = 300  # fewer training images: calibrate on cross-fitted latents instead of a held-out part
    crossfit_folds: int = 2  # extra models for cross-fitting (each trained without one fold; at most one per
    # image); < 2 = off. Two halves: each extra model sees half the images, so its latents on the other half are at
    # least as far out as the full model's on new images, a conservative null when few images under-represent the
    # goods (MTD, 16 images: good images flagged at k = 2 0.163 instead of 0.216 with 3 folds, training 86 s instead of 125)
    select_on_holdout: bool = False  # keep the step with the lowest held-out NLL (checked every 50 steps)
    noise_reference_images: int = 16  # > 0: the noise shrinks as sqrt(this / n) for n training images above it
    # (more images estimate the density at a finer bandwidth; MTD, 686 images: 0.5 -> 0.076 raised image AUROC)
    min_train_steps: int = 200  # the automatic budget (train_steps None): steps_per_image per training image,
    steps_per_image: float = 4.0  # at least min_train_steps and at most max_train_steps (MTD, 686 images: 200
    max_train_steps: int = 3000  # steps, about 5 epochs, left the flow under-trained; 2 per image, at most 1500,
    # still did: image / pixel AUROC 0.944 / 0.824 -> 0.954 / 0.831 with 4, found at k = 2 0.645 -> 0.702)
    calibrate_latents: bool = True  # rescale each latent so held-out normal images give mean z^2 / C = 1 (the
    # NFA assumes chi-square cells; with many training images the raw latents were at mean z^2 0.5-0.65)
    calibrate_edges: bool = True  # with calibrate_latents: cells near the image border get factors of their own
    # (tiles of a 3000 x 2000 texture: border cells at mean z^2 / C 1.5-2.2 made every normal image's border
    # one region of log10 NFA -220, and the region calibration then found no defect at all)
    map_smoothing: float = 0.0  # std (input pixels) of a Gaussian blur of the anomaly map
    extent_quantile: float = DEFAULT_QUANTILE  # > 0: a region's pixels are the map's pixels connected to its cells above
    # this quantile of held-out normal pixels (core.nfa.extent); 0 = its cells
    extent_fraction: float = HALF_MAXIMUM  # with extent_quantile: each region's level goes this far from that level to
    # its own peak: 0.5, the half-maximum edge of the blurred defect (mIoU at k = 2, 16 images: generated tile
    # 0.195 -> 0.238, leather 0.059 -> 0.068, MTD 0.062 -> 0.068); 0 = the quantile alone
    extent_otsu: bool = True  # with extent_quantile: each region's level is Otsu's threshold of the map's surprise
    # -log(1 - map) around it instead of extent_fraction (core.nfa.extent; with merge_scales, MTD all images: found
    # at k = 2 0.554 -> 0.585, mIoU at k = 0 0.117 -> 0.120; generated leather mIoU 0.084 -> 0.130; more parts)
    merge_scales: bool = True  # regions of different scales that overlap are one region (core.nfa.segment; rendered
    # hides: no false region left where a coarse region kept a ring around a finer one)
    calibrate_per_scale: bool = True  # the region calibration has one curve per latent scale, joined by a union
    # bound (core.nfa.region_null), instead of one curve whose heaviest-tailed scale sets every scale's threshold
    seed: int = 0
    tiling: bool = True  # images over twice input_size on a side are scored in tiles (core.models.uflow.tiling)
    tile_px: int | None = None  # source pixels per tile, the pixel scale (None: input_size, native resolution)
    exposure_gain: bool = True  # each image's model input is scaled to the training images' median mean grey level
    # (preprocess.with_exposure): exposure and lamp drift between images of one product are not defects (MTD, whose
    # first 16 training images are all darker than most test goods: image AUROC with all images 0.923 -> 0.944)
    stack_views: int = 1  # > 1: the input holds that many pixel-aligned views (3 channels each); their backbone
    # features are concatenated along channels, so one flow and each cell's chi-square test see every view

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_POLICIES:
            raise ModelError(f"unknown resize policy {self.resize!r}; choose one of {RESIZE_POLICIES}")
        if self.strides is not None:
            self.strides = tuple(int(s) for s in self.strides)
        self.pool_strides = tuple(int(s) for s in self.pool_strides)
        if self.feature_pool < 1 or self.feature_pool % 2 == 0:
            raise ModelError(f"feature_pool must be an odd number of cells, got {self.feature_pool}")
        if self.image_flips not in (AUTO_FLIPS, 0, 1, 3, 7):
            raise ModelError(f"image_flips must be {AUTO_FLIPS} (automatic), 0, 1, 3 or 7, got {self.image_flips}")
        if self.stack_views < 1:
            raise ModelError(f"stack_views must be at least 1, got {self.stack_views}")
        if not 0.0 <= self.extent_fraction < 1.0:
            raise ModelError(f"extent_fraction must lie in [0, 1), got {self.extent_fraction}")

    def noise_for(self, n_images: int) -> float:
        """Feature-noise std for a training set of `n_images`."""
        if self.noise_reference_images > 0 and n_images > self.noise_reference_images:
            return self.feature_noise * math.sqrt(self.noise_reference_images / n_images)
        return self.feature_noise

    def steps_for(self, n_images: int) -> int:
        """Optimiser steps for a training set of `n_images`: train_steps when set, else the automatic budget."""
        if self.train_steps is not None:
            return self.train_steps
        return max(self.min_train_steps, min(self.max_train_steps, int(round(self.steps_per_image * n_images))))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["strides"] = list(self.strides) if self.strides is not None else None
        d["pool_strides"] = list(self.pool_strides)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "UFlowConfig":
        known = {f.name for f in fields(cls)}
        tuples = ("strides", "pool_strides")
        # revisions stored before these options
        d = {"merge_scales": False, "calibrate_per_scale": False, "exposure_gain": False, "feature_pool": 1,
             "image_flips": 0, **d}
        return cls(**{k: (tuple(v) if k in tuples and v is not None else v) for k, v in d.items() if k in known})


@dataclass
class Prediction:
    """One image's result. The map covers the whole image at the model grid `input_shape`; resize it
    to `original_shape` (map_at_original_size) to overlay it on the original image."""

    anomaly_map: np.ndarray  # float32, input_shape, eq. 5.2: 1 - mean_l exp(-mean_k z^2 / 2)
    score: float  # max of the map
    latents: list[np.ndarray]  # per scale (C_l, H_l, W_l), coarsest first
    input_shape: tuple[int, int]
    original_shape: tuple[int, int]
    timing_ms: dict[str, float] = field(default_factory=dict)  # load, backbone, flow, map (per image)
    tiles: int = 0  # tiles the image was scored in (0: resized whole)

    def map_at_original_size(self) -> np.ndarray:
        return resize_map(self.anomaly_map, self.original_shape)


def resize_map(amap: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if tuple(amap.shape) == tuple(shape):
        return amap
    t = torch.from_numpy(np.ascontiguousarray(amap, dtype=np.float32))[None, None]
    return F.interpolate(t, size=tuple(shape), mode="bilinear", align_corners=False)[0, 0].numpy()


def anomaly_map_from_latents(latents: Sequence[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Eq. 5.2 for a batch: N x H x W."""
    acc = None
    for z in latents:
        likelihood = torch.exp(-0.5 * (z ** 2).mean(1, keepdim=True))
        up = F.interpolate(likelihood, size=size, mode="bilinear", align_corners=False)
        acc = up if acc is None else acc + up
    return 1.0 - acc[:, 0] / len(latents)


def smooth_map(amap: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (std `sigma` pixels, reflect padding) of an N x H x W batch of maps."""
    if sigma <= 0:
        return amap
    radius = max(1, int(math.ceil(4 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=amap.dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    out = amap[:, None]
    h, w = out.shape[-2:]
    pad_h, pad_w = min(radius, h - 1), min(radius, w - 1)
    if pad_w > 0:
        k = kernel[radius - pad_w: radius + pad_w + 1]
        k = k / k.sum()
        out = F.conv2d(F.pad(out, (pad_w, pad_w, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    if pad_h > 0:
        k = kernel[radius - pad_h: radius + pad_h + 1]
        k = k / k.sum()
        out = F.conv2d(F.pad(out, (0, 0, pad_h, pad_h), mode="reflect"), k.view(1, 1, -1, 1))
    return out[:, 0]


def library_versions() -> dict[str, str]:
    import FrEIA
    import timm

    return {"torch": torch.__version__, "timm": timm.__version__, "FrEIA": getattr(FrEIA, "__version__", "0.2"),
            "numpy": np.__version__}


class UFlowModel:
    """A frozen backbone, per-channel feature standardisation and a trained U-shaped flow."""

    def __init__(self, config: UFlowConfig, backbone: FeatureExtractor | None = None):
        self.config = config
        spec = get_spec(config.backbone)
        if backbone is None:
            backbone = build_backbone(config.backbone, config.backbone_weights, config.random_backbone)
        elif backbone.name != config.backbone:
            raise ModelError(f"backbone {backbone.name} given for a model configured with {config.backbone}")
        self.backbone = backbone
        strides = config.strides or spec.model_strides
        unknown = [s for s in strides if s not in spec.strides]
        if unknown:
            raise ModelError(f"{spec.name} has no scale at stride {unknown[0]} (it has {list(spec.strides)})")
        self.scale_index = [spec.strides.index(s) for s in sorted(strides)]  # finest first
        self.strides = tuple(sorted(strides))
        for fine, coarse in zip(self.strides, self.strides[1:]):
            if coarse != 2 * fine:
                raise ModelError(f"U-Flow needs scales at consecutive octaves, got strides {self.strides}")
        self.channels = tuple(spec.channels[i] * config.stack_views for i in self.scale_index)
        self.flow, self.layout = build_uflow(list(self.channels[::-1]), steps=config.flow_steps, clamp=config.clamp,
                                             hidden_ratio=config.hidden_ratio, seed=config.seed,
                                             context=config.scale_context is not False)
        self.feature_mean = [torch.zeros(1, c, 1, 1) for c in self.channels]  # finest first
        self.feature_std = [torch.ones(1, c, 1, 1) for c in self.channels]
        self.meta: dict[str, Any] = {}  # fingerprint, training summary, calibration
        self.flow.eval()

    # ------------------------------------------------------------ geometry and features

    @property
    def multiple(self) -> int:
        return max(self.strides)

    def input_shape_for(self, original_shape: tuple[int, int]) -> tuple[int, int]:
        fixed = self.backbone.spec.fixed_input_size
        if fixed:
            return fixed, fixed
        return target_shape(original_shape, self.config.input_size, self.config.resize, self.multiple)

    @property
    def exposure_reference(self) -> list[float] | None:
        """Mean grey level per view that inputs are brought to (the training images' median), or None: as stored."""
        ref = (self.meta.get("training") or {}).get("exposure_reference")
        return list(ref) if ref and self.config.exposure_gain else None

    def prepared(self, image: LoadedImage) -> LoadedImage:
        """The image as the backbone is to see it: at the training images' exposure where the model evens it out."""
        ref = self.exposure_reference
        return image if ref is None else with_exposure(image, ref)

    def extract(self, batch: torch.Tensor) -> list[torch.Tensor]:
        """Standardised features, finest first, for an N x 3 x h x w batch of 0..255 images."""
        return [(f - m) / s for f, m, s in zip(self.raw_features(batch), self.feature_mean, self.feature_std)]

    def raw_features(self, batch: torch.Tensor) -> list[torch.Tensor]:
        """Backbone features, finest first, each cell averaged over its neighbourhood where configured: the
        average narrows the spread of normal texture more than it dilutes a defect that covers neighbours."""
        views = self.config.stack_views
        if views > 1:  # one view at a time: the backbone's activations for one view's batch at most
            per_view = [self.backbone(batch[:, 3 * v:3 * v + 3]) for v in range(views)]
            maps = [torch.cat([f[i] for f in per_view], dim=1) for i in range(len(per_view[0]))]
            del per_view
        else:
            maps = self.backbone(batch)
        size = self.config.feature_pool
        return [F.avg_pool2d(maps[i], size, 1, size // 2, count_include_pad=False)
                if size > 1 and stride in self.config.pool_strides else maps[i]
                for i, stride in zip(self.scale_index, self.strides)]

    def run_flow(self, feats_fine_first: list[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Latents coarsest first and log|det J| per image."""
        z, log_det = self.flow(list(feats_fine_first[::-1]))
        return list(z), log_det

    def latents_from_features(self, feats_fine_first: list[torch.Tensor]) -> list[torch.Tensor]:
        """Calibrated latents, coarsest first, of standardised features (a batch of whole images)."""
        return self.edge_calibrated(self.tile_latents(feats_fine_first))

    def tile_latents(self, feats_fine_first: list[torch.Tensor]) -> list[torch.Tensor]:
        """Latents of a batch of tiles, calibrated but for the image border (`edge_calibrated` of the stitched
        field does that)."""
        return self.calibrated(self.run_flow(feats_fine_first)[0])

    def map_and_score(self, latents: Sequence[torch.Tensor], shape: tuple[int, int],
                      factor: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """Anomaly maps (N x H x W at `shape`, `factor` input pixels per map pixel) and image scores."""
        maps = smooth_map(anomaly_map_from_latents(latents, shape), self.config.map_smoothing / factor)
        return maps, maps.flatten(1).max(1).values

    @property
    def latent_scale(self) -> list[float]:
        """Per-scale factors (coarsest first) that bring held-out normal latents to mean z^2 / C = 1."""
        return list(self.meta.get("calibration", {}).get("latent_scale") or [1.0] * len(self.channels))

    def calibrated(self, latents: list[torch.Tensor]) -> list[torch.Tensor]:
        scale = self.latent_scale
        if all(s == 1.0 for s in scale):
            return latents
        return [z * s for z, s in zip(latents, scale)]

    @property
    def edge_scale(self) -> list[list[float]] | None:
        """Per scale, factors by distance to the image border (see calibration.edge_profile); None: none."""
        return self.meta.get("calibration", {}).get("edge_scale")

    def edge_calibrated(self, latents: list[torch.Tensor]) -> list[torch.Tensor]:
        """Whole-image latent fields (..., H, W) with the border factors applied in place: the fields are the
        flow's fresh outputs, and a stitched hide's are hundreds of megabytes (no second copy)."""
        from core.models.uflow.calibration import edge_weights

        for z, f in zip(latents, self.edge_scale or []):
            z.mul_(torch.from_numpy(edge_weights(tuple(z.shape[-2:]), f)).to(z.dtype))
        return latents

    # ------------------------------------------------------------ inference

    @torch.no_grad()
    def predict(self, images: Sequence[ImageInput], progress: ProgressCallback = no_progress,
                cancel: CancelToken = NEVER_CANCELLED, batch_size: int = 8,
                keep_latents: bool = True) -> list[Prediction]:
        """Anomaly map, score, latents and per-stage timing for each image, in input order; images over twice
        the input on a side are scored in tiles (config.tiling) and the progress then counts their tiles."""
        from core.models.uflow import tiling

        self.flow.eval()
        results: list[Prediction | None] = [None] * len(images)
        done = 0
        pending: dict[tuple[int, int], list[tuple[int, LoadedImage, float]]] = {}

        def flush(shape: tuple[int, int]) -> None:
            nonlocal done
            group = pending.pop(shape)
            cancel.check()
            t0 = time.perf_counter()
            batch = torch.cat([im.input_tensor(shape) for _, im, _ in group])
            t1 = time.perf_counter()
            feats = self.extract(batch)
            t2 = time.perf_counter()
            latents = self.latents_from_features(feats)
            t3 = time.perf_counter()
            maps, scores = self.map_and_score(latents, shape)
            t4 = time.perf_counter()
            n = len(group)
            for j, (index, im, load_ms) in enumerate(group):
                results[index] = Prediction(
                    anomaly_map=maps[j].numpy().astype(np.float32, copy=False),
                    score=float(scores[j]),
                    latents=[z[j].numpy().copy() for z in latents] if keep_latents else [],
                    input_shape=shape, original_shape=im.shape,
                    timing_ms={"load": load_ms + 1000 * (t1 - t0) / n, "backbone": 1000 * (t2 - t1) / n,
                               "flow": 1000 * (t3 - t2) / n, "map": 1000 * (t4 - t3) / n})
            done += n
            progress(done / len(images), f"scored {done}/{len(images)} images")

        for index, image in enumerate(images):
            t0 = time.perf_counter()
            loaded = self.prepared(load_rgb(image))
            load_ms = 1000 * (time.perf_counter() - t0)
            if tiling.tiles_image(self.config, self.backbone.spec.fixed_input_size, loaded.shape):
                def tile_progress(f: float, m: str, i: int = index) -> None:
                    progress((done + f) / len(images), f"image {i + 1}/{len(images)}, {m}")

                pred = tiling.predict_tiled(self, loaded, tiling.plan_tiles(self, loaded.shape), tile_progress,
                                            cancel, keep_latents=keep_latents)
                pred.timing_ms["load"] += load_ms
                results[index] = pred
                done += 1
                continue
            shape = self.input_shape_for(loaded.shape)
            pending.setdefault(shape, []).append((index, loaded, load_ms))
            if len(pending[shape]) >= batch_size:
                flush(shape)
        for shape in list(pending):
            flush(shape)
        return results  # type: ignore[return-value]

    # ------------------------------------------------------------ serialisation

    def state_tensors(self) -> dict[str, torch.Tensor]:
        state = {f"flow.{k}": v.detach().contiguous() for k, v in self.flow.state_dict().items()}
        for i, (m, s) in enumerate(zip(self.feature_mean, self.feature_std)):
            state[f"norm.mean.{i}"] = m.contiguous()
            state[f"norm.std.{i}"] = s.contiguous()
        return state

    def describe(self) -> dict[str, Any]:
        """The JSON side of a checkpoint."""
        return {"format": FORMAT, "config": self.config.to_dict(), "backbone": self.config.backbone,
                "strides": list(self.strides), "channels": list(self.channels),
                "layout": {"stage_channels": list(self.layout.stage_channels),
                           "latent_channels": list(self.layout.latent_channels)},
                "versions": library_versions(), **self.meta}

    def to_bytes(self) -> tuple[bytes, dict[str, Any]]:
        """(safetensors bytes, JSON-able config) for a content-addressed blob store."""
        from safetensors.torch import save

        return save(self.state_tensors()), self.describe()

    @classmethod
    def from_bytes(cls, weights: bytes, description: dict[str, Any], expected_backbone: str | None = None,
                   backbone: FeatureExtractor | None = None, backbone_weights: str | None = None) -> "UFlowModel":
        """Rebuild a model; refuses a checkpoint whose backbone differs from `expected_backbone`/`backbone`."""
        from safetensors.torch import load

        if description.get("format") != FORMAT:
            raise ModelError(f"not a U-Flow checkpoint (format {description.get('format')!r})")
        config = UFlowConfig.from_dict(description["config"])
        for wanted in (expected_backbone, backbone.name if backbone is not None else None):
            if wanted is not None and wanted != config.backbone:
                raise ModelError(f"checkpoint was trained on backbone {config.backbone}, not {wanted}; "
                                 "retrain or pick the matching backbone")
        if backbone_weights is not None:
            config.backbone_weights = backbone_weights
        try:
            state = load(weights)
        except Exception as exc:
            raise ModelError(f"cannot read checkpoint weights ({exc})") from None
        return cls.from_state(state, description, config, backbone)

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], description: dict[str, Any], config: UFlowConfig | None = None,
                   backbone: FeatureExtractor | None = None) -> "UFlowModel":
        """Rebuild a model from its tensors (state_tensors) and its description (describe)."""
        config = config or UFlowConfig.from_dict(description["config"])
        model = cls(config, backbone=backbone)
        flow_state = {k[len("flow."):]: v for k, v in state.items() if k.startswith("flow.")}
        try:
            model.flow.load_state_dict(flow_state, strict=True)
        except RuntimeError as exc:
            raise ModelError(f"checkpoint does not fit the {config.backbone} flow: {str(exc)[:300]}") from None
        model.feature_mean = [state[f"norm.mean.{i}"] for i in range(len(model.channels))]
        model.feature_std = [state[f"norm.std.{i}"] for i in range(len(model.channels))]
        model.meta = {k: v for k, v in description.items()
                      if k not in ("format", "config", "backbone", "strides", "channels", "layout", "versions")}
        return model

    def save(self, folder: str | Path) -> None:
        """Write model.safetensors + model.json into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        weights, description = self.to_bytes()
        (folder / "model.safetensors").write_bytes(weights)
        (folder / "model.json").write_text(json.dumps(description, indent=1))

    @classmethod
    def load(cls, folder: str | Path, expected_backbone: str | None = None,
             backbone: FeatureExtractor | None = None) -> "UFlowModel":
        folder = Path(folder)
        try:
            description = json.loads((folder / "model.json").read_text())
            weights = (folder / "model.safetensors").read_bytes()
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read checkpoint in {folder} ({exc})") from None
        return cls.from_bytes(weights, description, expected_backbone=expected_backbone, backbone=backbone)

    @property
    def region_null(self):
        """The region null fitted on held-out normal images (core.nfa.region_null), or None for revisions
        trained without held-out images or before it existed: those segment in the paper's mode."""
        from core.nfa.region_null import RegionNull

        stored = self.calibration.get("regions")
        return RegionNull.from_dict(stored) if stored else None

    @property
    def regions_calibrated(self) -> bool:
        return self.region_null is not None

    def segment(self, prediction: "Prediction", image_shape: tuple[int, int] | None = None, k: float = 0.0,
                null=None):
        """A contrario regions of one prediction: calibrated when the revision has a region null."""
        from core.nfa import segment
        from core.nfa.extent import refine_extent

        null = null if null is not None else self.region_null
        shape = image_shape or prediction.input_shape
        if null is None:
            seg = segment(prediction.latents, shape, k=k, mode="paper", merge_scales=self.config.merge_scales)
        else:
            seg = segment(prediction.latents, shape, k=k, mode="calibrated", null=null,
                          merge_scales=self.config.merge_scales)
        extent = self.calibration.get("extent", {})
        if extent.get("level") is None or not seg.regions:
            return seg
        return refine_extent(seg, resize_map(prediction.anomaly_map, shape), extent["level"],
                             extent.get("fraction", 0.0), otsu=bool(extent.get("otsu", False)))

    @torch.no_grad()
    def map_of(self, latents: Sequence[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
        """The anomaly map (as `predict` draws it) of one image's calibrated latents, coarsest first."""
        batch = [torch.from_numpy(np.ascontiguousarray(z))[None] for z in latents]
        return self.map_and_score(batch, shape)[0][0].numpy()

    @property
    def calibration(self) -> dict[str, Any]:
        """Latent calibration on held-out normal images (see core.models.uflow.calibration)."""
        return self.meta.get("calibration", {})
