"""Training a U-Flow model on normal images: features cached once, a step budget fixed before the run, seeded.

Nothing is selected on test data: the run uses its budget (UFlowConfig.steps_for: set by the user, or
grown with the number of training images), or (select_on_holdout) the step with the lowest NLL on held-out
*normal* training images.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from typing import Sequence

import numpy as np
import torch

from core.errors import ModelError
from core.models.backbones import FeatureExtractor, get_spec
from core.models.preprocess import ImageInput, LoadedImage, fingerprint, load_rgb, mean_levels, median_levels, with_exposure
from core.models.uflow import orientation, tiling
from core.models.uflow.calibration import calibration_report, edge_profile, edge_weights, mean_z2_per_scale
from core.models.uflow.flow import nll_per_image
from core.models.uflow.model import AUTO_FLIPS, UFlowConfig, UFlowModel
from core.nfa.extent import map_level
from core.nfa.region_null import fit_region_null
from core.progress import NEVER_CANCELLED, CancelToken, ProgressCallback, no_progress, report_steps

EVAL_EVERY = 50


def _features(model: UFlowModel, images: list[LoadedImage], cancel: CancelToken, report, batch_size: int = 8):
    """Raw backbone features per image (finest first), grouped by input shape for batching; images over twice
    the input on a side get the stitched field of their tiles at the pixel scale (core.models.uflow.tiling)."""
    out: list[list[torch.Tensor] | None] = [None] * len(images)
    groups: dict[tuple[int, int], list[int]] = {}
    tiled = []
    for i, im in enumerate(images):
        if tiling.tiles_image(model.config, model.backbone.spec.fixed_input_size, im.shape):
            tiled.append(i)
        else:
            groups.setdefault(model.input_shape_for(im.shape), []).append(i)
    done = 0
    for i in tiled:
        plan = tiling.plan_tiles(model, images[i].shape)
        out[i] = tiling.feature_field(model, tiling.ImageWindows(images[i], plan), plan, model.raw_features,
                                      cancel=cancel,
                                      report=lambda t, n=plan.n_tiles: report((done + t / n) / len(images)))
        done += 1
    for shape, idx in groups.items():
        for start in range(0, len(idx), batch_size):
            cancel.check()
            chunk = idx[start:start + batch_size]
            batch = torch.cat([images[i].input_tensor(shape) for i in chunk])
            feats = model.raw_features(batch)
            for j, i in enumerate(chunk):
                out[i] = [f[j].clone() for f in feats]
            done += len(chunk)
            report(done / len(images))
    return out, len(tiled)


def _standardise(model: UFlowModel, feats: list[list[torch.Tensor]]) -> None:
    """Per-channel mean and std over every cell of every image, accumulated image by image (large fields)."""
    for level in range(len(model.channels)):
        count, total, squares = 0, 0.0, 0.0
        for f in feats:
            flat = f[level].flatten(1).double()
            count += flat.shape[1]
            total = total + flat.sum(1)
            squares = squares + (flat * flat).sum(1)
        mean = total / count
        var = (squares - count * mean * mean) / max(count - 1, 1)
        model.feature_mean[level] = mean.float().view(1, -1, 1, 1)
        model.feature_std[level] = var.clamp_min(0).sqrt().clamp_min(1e-3).float().view(1, -1, 1, 1)


class _Batches:
    """Random batches of cached features; aligned random crops when images differ in shape."""

    def __init__(self, feats: list[list[torch.Tensor]], batch_size: int, crop_cells: int, flips: bool,
                 generator: torch.Generator, tile_cells: int | None = None):
        """`tile_cells`: some fields are stitched tiles of large images: every batch is half `batch_size` random
        crops of that many coarse cells (one model input each; images drawn with replacement), where whole
        images batch at most as many inputs as there are images."""
        self.feats = feats
        self.tiles = tile_cells is not None
        self.batch_size = max(1, batch_size // 2) if self.tiles else min(batch_size, len(feats))
        self.flips = flips
        self.gen = generator
        shapes = {tuple(f[-1].shape[-2:]) for f in feats}  # coarsest scale is last (finest first)
        self.same_shape = len(shapes) == 1 and not self.tiles
        crop_cells = tile_cells if tile_cells is not None else crop_cells
        if self.same_shape:
            self.stacked = [torch.stack([f[level] for f in feats]) for level in range(len(feats[0]))]
        else:
            smallest = min(min(s) for s in shapes)
            self.crop = max(1, min(crop_cells, smallest))

    def _crop(self, f: list[torch.Tensor]) -> list[torch.Tensor]:
        h, w = f[-1].shape[-2:]
        y = int(torch.randint(0, h - self.crop + 1, (1,), generator=self.gen))
        x = int(torch.randint(0, w - self.crop + 1, (1,), generator=self.gen))
        levels = len(f)
        out = []
        for level, t in enumerate(f):
            k = 2 ** (levels - 1 - level)
            out.append(t[:, y * k:(y + self.crop) * k, x * k:(x + self.crop) * k])
        return out

    def sample(self) -> list[torch.Tensor]:
        if self.tiles:
            idx = torch.randint(0, len(self.feats), (self.batch_size,), generator=self.gen)
        else:
            idx = torch.randperm(len(self.feats), generator=self.gen)[: self.batch_size]
        if self.same_shape:
            batch = [s[idx] for s in self.stacked]
        else:
            crops = [self._crop(self.feats[i]) for i in idx.tolist()]
            batch = [torch.stack([c[level] for c in crops]) for level in range(len(crops[0]))]
        if self.flips:
            if bool(torch.randint(0, 2, (1,), generator=self.gen)):
                batch = [b.flip(-1) for b in batch]
            if bool(torch.randint(0, 2, (1,), generator=self.gen)):
                batch = [b.flip(-2) for b in batch]
        return batch


def _mean_nll_per_dim(model: UFlowModel, batch: list[torch.Tensor]) -> torch.Tensor:
    latents, log_det = model.run_flow(batch)
    dims = sum(z[0].numel() for z in latents)
    return nll_per_image(latents, log_det).mean() / dims  # averaged over the batch, never summed


@torch.no_grad()
def _nll_of(model: UFlowModel, feats: list[list[torch.Tensor]]) -> float:
    values = [float(_mean_nll_per_dim(model, [t[None] for t in f])) for f in feats]
    return float(np.mean(values)) if values else float("nan")


def _tiles_most(config: UFlowConfig, images: list[LoadedImage]) -> bool:
    """Whether a revision on these images tiles: when at least half of them are large enough to tile. Otherwise
    it resizes every image, as it scores them later, so that one model never sees two pixel scales (a data
    set whose sizes straddle twice the input, like MTD's 200-632 px tiles, stays on resizing)."""
    fixed = get_spec(config.backbone).fixed_input_size
    large = sum(tiling.tiles_image(config, fixed, im.shape) for im in images)
    return 2 * large >= len(images)


MIN_CALIBRATION_IMAGES = 4  # below this, nothing is held out and the regions stay uncalibrated


def _calibration_split(n: int, config: UFlowConfig) -> tuple[list[int], list[list[int]]]:
    """(held-out indices, cross-fitting folds) for n training images.

    From `crossfit_below` images on, a `holdout_fraction` of them is held out; below it (and from
    MIN_CALIBRATION_IMAGES on), every image is used for training and the calibration latents come from
    `crossfit_folds` extra models, each trained without one fold: a few held-out images cannot calibrate
    the false-alarm tail of the regions, a cross-fitted score of every image can.
    """
    order = np.random.default_rng(config.seed).permutation(n).tolist()
    if n < MIN_CALIBRATION_IMAGES:
        return [], []
    if n < config.crossfit_below and config.crossfit_folds >= 2:
        k = min(config.crossfit_folds, n)
        return [], [sorted(order[i::k]) for i in range(k)]
    if config.holdout_fraction <= 0:
        return [], []
    n_hold = min(max(int(round(n * config.holdout_fraction)), 1), n - 1)
    return sorted(order[:n_hold]), []


def _flipped(images: list[LoadedImage], count: int) -> tuple[list[LoadedImage], list[list[int]]]:
    """`images` followed by copies of each under the first `count` orientation.TRANSFORMS, and per image the
    indices of its copies."""
    out = list(images)
    copies: list[list[int]] = []
    for im in images:
        copies.append([])
        for t in range(count):
            copies[-1].append(len(out))
            out.append(dataclasses.replace(im, pixels=np.ascontiguousarray(orientation.transformed(im.pixels, t))))
    return out, copies


def _auto_orientations(config: UFlowConfig, n_train: int) -> bool:
    """Whether image_flips = AUTO_FLIPS checks the copies: few images, resized whole (tiles of large images
    already give many cells each, and a tiled copy costs as much as its original)."""
    return (config.image_flips == AUTO_FLIPS and not config.tiling
            and orientation.MIN_IMAGES <= n_train < config.crossfit_below)


def chosen_scale_context(checked: bool, kept_transforms: list[int]) -> bool:
    """UFlowConfig.scale_context when left to training: False (one flow per scale) where the orientation check ran
    and kept every flip and turn. Assumption: training images whose look no symmetry of the square changes show a
    uniform texture, with no layout or direction for the coarser scales to carry; a fixed pose, a grain direction
    or a one-sided light fails at least one transform and keeps the U shape, as does a check that could not run
    (fewer than orientation.MIN_IMAGES samples)."""
    return not (checked and len(kept_transforms) == len(orientation.TRANSFORMS))


def layout_samples(images: list[LoadedImage], tiled: bool, seed: int, pixel_scale: int) -> list[LoadedImage]:
    """What the layout check looks at when training adds no checked copies: up to orientation.MAX_IMAGES of the
    images drawn at random, or for tiled images as many square windows of one model input (`pixel_scale` source
    pixels a side) at random places, spread evenly over the images: the flow of a tiled revision only ever sees
    such windows, so their look, not the whole image's, decides its layout."""
    rng = np.random.default_rng(seed)
    if not tiled:
        return [images[i] for i in sorted(rng.permutation(len(images))[:orientation.MAX_IMAGES].tolist())]
    out = []
    for n in range(orientation.MAX_IMAGES):
        im = images[n % len(images)]
        side = min(pixel_scale, *im.shape)
        y = int(rng.integers(0, im.shape[0] - side + 1))
        x = int(rng.integers(0, im.shape[1] - side + 1))
        out.append(dataclasses.replace(im, pixels=im.pixels[y:y + side, x:x + side]))
    return out


def _layout_check(model: UFlowModel, samples: list[LoadedImage], cancel: CancelToken, seed: int,
                  report) -> tuple[bool, list[int], np.ndarray | None]:
    """(checked, transforms that look normal, shifts) on `samples` and their seven transformed copies."""
    if len(samples) < orientation.MIN_IMAGES:
        return False, [], None
    with_copies, copies = _flipped(samples, len(orientation.TRANSFORMS))
    feats, _ = _features(model, with_copies, cancel, report)
    kept, shifts = orientation.normal_transforms(feats[:len(samples)], [[feats[c] for c in own] for own in copies],
                                                 seed)
    return True, kept, shifts


def _stored_shifts(shifts: np.ndarray) -> list[list[float]]:
    """Orientation shifts as stored with a revision (JSON: infinite shifts capped)."""
    return np.round(np.minimum(shifts, 1e6), 3).tolist()


def _normalised(model: UFlowModel, feats: list[torch.Tensor]) -> list[torch.Tensor]:
    return [(t[None] - m)[0] / s[0] for t, m, s in zip(feats, model.feature_mean, model.feature_std)]


@torch.no_grad()
def _latents(model: UFlowModel, feats: list[torch.Tensor]) -> list[np.ndarray]:
    """Latents of one image's normalised features; a field larger than a tile runs in tiles, as when scored."""
    grid = tiling.field_grid(model, feats)
    if max(grid.cells) > grid.tile + 2 * grid.margin:
        return [z.numpy() for z in tiling.latent_field(model, feats, grid)]
    return [z[0].numpy() for z in model.run_flow([t[None] for t in feats])[0]]


def _optimise(model: UFlowModel, train_feats, hold_feats, config: UFlowConfig, gen: torch.Generator,
              cancel: CancelToken, progress: ProgressCallback, tile_cells: int | None,
              n_images: int) -> tuple[list[float], tuple]:
    """The fixed-budget Adam run (warm-up + cosine); returns the losses and (best held-out NLL, state, step).
    `n_images`: the distinct images behind `train_feats` (flipped copies are not new images), for the budget."""
    batches = _Batches(train_feats, config.batch_size, config.crop_cells, config.flip_augment, gen, tile_cells)
    n_steps = config.steps_for(n_images)
    noise = config.noise_for(n_images)
    params = [p for p in model.flow.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = max(1, n_steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, n_steps) / n_steps)))
    model.flow.train()
    losses: list[float] = []
    best = (float("inf"), None, 0)
    for step in range(n_steps):
        cancel.check()
        batch = batches.sample()
        if noise > 0:
            batch = [b + noise * torch.randn(b.shape, generator=gen) for b in batch]
        loss = _mean_nll_per_dim(model, batch)
        if not torch.isfinite(loss):
            raise ModelError(f"training diverged at step {step} (loss {float(loss)}); lower the learning rate")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if config.select_on_holdout and hold_feats and ((step + 1) % EVAL_EVERY == 0 or step + 1 == n_steps):
            model.flow.eval()
            value = _nll_of(model, hold_feats)
            model.flow.train()
            if value < best[0]:
                best = (value, copy.deepcopy(model.flow.state_dict()), step + 1)
        if step % 5 == 0 or step + 1 == n_steps:
            loss_now = float(np.mean(losses[-20:]))
            report_steps(progress, (step + 1) / n_steps, f"step {step + 1}/{n_steps}, nll/dim {loss_now:.4f}",
                         step + 1, n_steps, loss_now)
    model.flow.eval()
    if best[1] is not None:
        model.flow.load_state_dict(best[1])
    return losses, best


def train(images: Sequence[ImageInput], config: UFlowConfig | None = None, progress: ProgressCallback = no_progress,
          cancel: CancelToken = NEVER_CANCELLED, init_from: UFlowModel | None = None,
          backbone: FeatureExtractor | None = None) -> UFlowModel:
    """Train U-Flow on normal images (paths or arrays); `init_from` fine-tunes a parent model;
    `backbone` reuses an already built extractor (its name must match the config).

    Progress: loading 0-5 %, features 5-30 %, optimisation (cross-fitting folds, then the model) 30-95 %,
    calibration 95-100 %.
    Raises JobCancelled between steps once `cancel` is set.
    """
    config = config or UFlowConfig()
    if not images:
        raise ModelError("training needs at least one normal image")
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)

    loaded = []
    for i, image in enumerate(images):
        cancel.check()
        loaded.append(load_rgb(image))
        progress(0.05 * (i + 1) / len(images), "loading images")

    if config.tiling and init_from is None:
        config = dataclasses.replace(config, tiling=_tiles_most(config, loaded))
    hold_idx, folds = _calibration_split(len(loaded), config)
    hold_set = set(hold_idx)
    train_idx = [i for i in range(len(loaded)) if i not in hold_set]

    shared = {"backbone": backbone if init_from is None else init_from.backbone}

    def fresh_model() -> UFlowModel:
        """A new flow (seeded: every one starts from the same weights), or a copy of the parent to fine-tune."""
        child = UFlowModel(config, backbone=shared["backbone"])
        shared["backbone"] = child.backbone
        if init_from is not None:
            child.flow.load_state_dict(init_from.flow.state_dict())
            child.feature_mean = [m.clone() for m in init_from.feature_mean]
            child.feature_std = [s.clone() for s in init_from.feature_std]
        return child

    if init_from is not None:
        parent = init_from.config
        if parent.backbone != config.backbone:
            raise ModelError(f"cannot fine-tune a {parent.backbone} model with backbone {config.backbone}")
        config = dataclasses.replace(config, backbone_weights=parent.backbone_weights, input_size=parent.input_size,
                              resize=parent.resize, strides=init_from.strides, flow_steps=parent.flow_steps,
                              clamp=parent.clamp, hidden_ratio=parent.hidden_ratio,
                              scale_context=parent.scale_context is not False,
                              random_backbone=parent.random_backbone, exposure_gain=parent.exposure_gain,
                              feature_pool=parent.feature_pool, pool_strides=parent.pool_strides,
                              tile_px=config.tile_px or parent.tile_px)
    model = fresh_model()

    progress(0.05, "extracting features")
    # Inputs at one exposure: the median level of the training images, or for a fine-tuned model its parent's
    # (whose feature standardisation it inherits).
    inputs, reference = loaded, None
    if config.exposure_gain:
        levels = [mean_levels(im) for im in loaded]
        reference = (init_from.exposure_reference if init_from is not None
                     else median_levels([levels[i] for i in train_idx]))
        inputs = [with_exposure(im, reference, v) for im, v in zip(loaded, levels)]
    auto_flips = _auto_orientations(config, len(train_idx))
    n_copies = len(orientation.TRANSFORMS) if auto_flips else max(config.image_flips, 0)
    with_copies, copies = _flipped(inputs, n_copies)
    raw_feats, n_tiled = _features(model, with_copies, cancel,
                                   lambda f: progress(0.05 + 0.25 * f, "extracting features"))
    n_tiled //= 1 + n_copies  # copies tile like their originals
    kept_transforms, shifts = list(range(n_copies)), None
    if auto_flips:
        progress(0.30, "checking which flips and turns look normal")
        kept_transforms, shifts = orientation.normal_transforms(
            [raw_feats[i] for i in train_idx], [[raw_feats[c] for c in copies[i]] for i in train_idx], config.seed)
        for own in copies:
            for t in set(range(n_copies)) - set(kept_transforms):
                raw_feats[own[t]] = None
        copies = [[own[t] for t in kept_transforms] for own in copies]
    scale_context_chosen = config.scale_context is None
    layout_check = None  # the sample checked for the layout alone, where the copies were not checked
    if scale_context_chosen:
        checked, layout_kept = auto_flips, kept_transforms
        if not auto_flips:  # the copies were not checked (many images, tiles, flips set by hand): check a sample
            samples = layout_samples([inputs[i] for i in train_idx], n_tiled > 0, config.seed,
                                     tiling.pixel_scale(config))
            checked, layout_kept, layout_shifts = _layout_check(
                model, samples, cancel, config.seed,
                lambda f: progress(0.30, f"checking the flips and turns of {len(samples)} "
                                         f"{'tile windows' if n_tiled else 'images'} for the flow's layout: "
                                         f"{int(100 * f)} %"))
            if checked:
                layout_check = {"samples": len(samples), "tiles": n_tiled > 0, "kept": len(layout_kept),
                                "shifts": _stored_shifts(layout_shifts)}
        config = dataclasses.replace(config, scale_context=chosen_scale_context(checked, layout_kept))
        model = fresh_model()  # the same seeded flow for the U shape; the model keeps the resolved config

    def and_copies(idx: list[int]) -> list[int]:
        return idx + [c for i in idx for c in copies[i]]

    tile_cells = max(1, config.input_size // model.multiple) if n_tiled else None
    features_seconds = time.perf_counter() - started

    runs = 1 + len(folds)
    span = 0.65 / runs

    def fit(target: UFlowModel, fit_idx: list[int], check_idx: list[int], run: int, label: str):
        """Standardise on (new models) and optimise over `fit_idx`, selecting on `check_idx` when configured;
        returns the normalised features and the log."""
        n_images = len(fit_idx)
        fit_idx = and_copies(fit_idx)
        if init_from is None:
            _standardise(target, [raw_feats[i] for i in fit_idx])
        feats = [None if f is None else _normalised(target, f) for f in raw_feats]
        log = _optimise(target, [feats[i] for i in fit_idx], [feats[i] for i in check_idx], config, gen, cancel,
                        lambda f, m: progress(0.30 + span * (run + f), f"{label}{m}"), tile_cells, n_images)
        return feats, log

    # Cross-fitting: each fold's images are scored by a model trained on the other folds, so every training
    # image yields latents that are held out, like the latents of new images, for the calibration below.
    crossfit_latents: list[list[np.ndarray] | None] = [None] * len(loaded)
    for run, fold in enumerate(folds):
        fold_set = set(fold)
        aux = fresh_model()
        feats, _ = fit(aux, [i for i in train_idx if i not in fold_set], [], run, f"fold {run + 1}/{len(folds)}: ")
        for i in fold:
            crossfit_latents[i] = _latents(aux, feats[i])
    feats, (losses, best) = fit(model, train_idx, hold_idx, len(folds), "")

    progress(0.95, "checking calibration")
    if folds:
        held_out_latents = [z for z in crossfit_latents if z is not None]
    else:
        held_out_latents = [_latents(model, feats[i]) for i in hold_idx]
    cal_latents = held_out_latents or [_latents(model, feats[i]) for i in train_idx[:32]]
    scale = [1.0] * len(model.channels)
    edge: list[list[float]] | None = None

    def calibrate(img: list[np.ndarray]) -> list[np.ndarray]:
        """One image's raw latents with the latent scale and the border factors applied."""
        out = [z * s for z, s in zip(img, scale)]
        return out if edge is None else [z * edge_weights(z.shape[-2:], f) for z, f in zip(out, edge)]

    raw = mean_z2_per_scale(cal_latents)
    if folds:
        source = f"training images scored by models trained without them ({len(folds)} folds)"
    elif held_out_latents:
        source = "held-out normal images"
    else:
        source = "training images (too few to hold out)"
    scale_images = 0
    if config.calibrate_latents and held_out_latents:
        # With 4+ held-out images the scale comes from one half and the check from the other, so the check
        # stays a test; with fewer, both use every held-out image and the mean is 1 by construction.
        split = len(cal_latents) >= 4
        fit_half, check = (cal_latents[0::2], cal_latents[1::2]) if split else (cal_latents, cal_latents)
        scale = [float(1.0 / math.sqrt(max(v, 1e-6))) for v in (mean_z2_per_scale(fit_half) if split else raw)]
        if config.calibrate_edges:  # measured on the scaled latents (edge is still None here)
            edge = edge_profile([calibrate(img) for img in fit_half])
        cal_latents = [calibrate(img) for img in check]
        scale_images = len(fit_half)
        if not folds:
            source = ("held-out normal images not used to set the latent scale" if split
                      else "held-out normal images, the same that set the latent scale")
    calibration = calibration_report(cal_latents, seed=config.seed)
    if held_out_latents:
        region_latents = [calibrate(img) for img in held_out_latents]
        calibration["regions"] = fit_region_null(region_latents, per_scale=config.calibrate_per_scale).to_dict()
        if config.extent_quantile > 0:
            fine = model.strides[0]  # the map at input pixels: the finest field's cells times its stride
            maps = [model.map_of(z, (z[-1].shape[1] * fine, z[-1].shape[2] * fine)) for z in region_latents]
            calibration["extent"] = {"quantile": config.extent_quantile,
                                     "level": map_level(maps, config.extent_quantile),
                                     "fraction": config.extent_fraction, "otsu": config.extent_otsu}
    else:
        calibration["warnings"].append(f"too few normal images to hold any out (fewer than {MIN_CALIBRATION_IMAGES}):"
                                       " regions use the paper's count of tests, uncalibrated")
    calibration["source"] = source
    calibration["latent_scale"] = scale
    calibration["edge_scale"] = edge
    calibration["scale_images"] = scale_images
    calibration["raw_mean_z2"] = raw  # before rescaling: how far the flow alone is from N(0, 1)
    hold_feats = [feats[i] for i in hold_idx]
    n_steps = len(losses)
    model.meta = {
        "fingerprint": fingerprint([loaded[i] for i in train_idx]),
        "training": {"n_images": len(train_idx), "n_holdout": len(hold_idx), "crossfit_folds": len(folds),
                     "image_flips": len(kept_transforms),
                     "orientations": [orientation.TRANSFORMS[t] for t in kept_transforms],
                     "scale_context_chosen": scale_context_chosen, "layout_check": layout_check,
                     "orientation_shifts": None if shifts is None else _stored_shifts(shifts),
                     "exposure_reference": reference, "steps": n_steps,
                     "feature_noise": config.noise_for(len(train_idx)),
                     "tiled_images": n_tiled, "pixel_scale": tiling.pixel_scale(config) if n_tiled else None,
                     "selected_step": best[2] or n_steps,
                     "final_nll_per_dim": float(np.mean(losses[-20:])) if losses else None,
                     "holdout_nll_per_dim": _nll_of(model, hold_feats) if hold_feats else None,
                     "features_seconds": features_seconds, "seconds": time.perf_counter() - started,
                     "loss_curve": losses[:: max(1, len(losses) // 200)],
                     "parent_fingerprint": init_from.meta.get("fingerprint") if init_from is not None else None},
        "calibration": calibration,
    }
    progress(1.0, "trained")
    return model
