"""What a training job trains, by view mode: one model on every image, one model per view name, or one model
on the pixel-aligned views of each item stacked along channels.

Each returns a Trained: the checkpoint to store and what the revision records about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.domain.images import ImageRef, item_names, readable_images
from core.domain.items import group_by, missing_views, views_in_order
from core.domain.view_modes import PER_VIEW, VIEW_MODES
from core.errors import ContrarioError, ImageError
from core.io.checked_files import read_checked_image
from core.store.blobs import BadBlobName


@dataclass
class Trained:
    weights: bytes
    description: dict[str, Any]
    calibration: dict[str, Any]
    training: dict[str, Any]  # figures["training"]; its loss curve is stored apart
    loss_curve: list[float] | None
    used: list[ImageRef]  # the images the model was trained on
    skipped: list[dict] = field(default_factory=list)  # {"image_id", "reason"}


def decode(project, refs: list[ImageRef], cancel) -> tuple[list[tuple[ImageRef, Any]], list[dict]]:
    """The decoded images, and those skipped: unreadable, or changed since their import (not what was frozen)."""
    decoded, skipped = [], []
    for ref in refs:
        cancel.check()
        try:
            decoded.append((ref, read_checked_image(ref.source(project), ref.sha256, ref.file_size)))
        except (ImageError, BadBlobName) as exc:
            skipped.append({"image_id": ref.id, "reason": str(exc)})
    return decoded, skipped


def _none_readable(refs: list[ImageRef], skipped: list[dict], what: str = "training images") -> ContrarioError:
    return ContrarioError(f"none of the {len(refs)} {what} could be read: {skipped[0]['reason']}")


def _trained(model, used, skipped) -> Trained:
    weights, description = model.to_bytes()
    training = model.meta.get("training", {})
    return Trained(weights, description, model.meta.get("calibration") or {},
                   {k: v for k, v in training.items() if k != "loss_curve"}, training.get("loss_curve"), used, skipped)


def train_single(project, refs, config, progress, cancel, parent=None) -> Trained:
    from core.models.uflow import train

    decoded, skipped = decode(project, refs, cancel)
    if not decoded:
        raise _none_readable(refs, skipped)
    model = train([im for _, im in decoded], config, progress=progress, cancel=cancel, init_from=parent)
    return _trained(model, [ref for ref, _ in decoded], skipped)


def train_per_view(project, refs, config, progress, cancel) -> Trained:
    """One U-Flow per view name, each on that view's images."""
    from core.models.uflow import train
    from core.models.uflow.views import PerViewModel, combined_calibration

    groups = group_by(sorted(refs, key=lambda r: r.view), lambda r: r.view)
    models, used, skipped, backbone = {}, [], [], None
    for n, (view, view_refs) in enumerate(groups.items()):
        decoded, missed = decode(project, view_refs, cancel)
        skipped += missed
        if not decoded:
            continue
        label = f"view {view or '(none)'} ({n + 1}/{len(groups)}): "
        model = train([im for _, im in decoded], config, cancel=cancel, backbone=backbone,
                      progress=lambda f, m, n=n, label=label: progress((n + f) / len(groups), label + m))
        backbone = model.backbone
        models[view] = model
        used += [ref for ref, _ in decoded]
    if not models:
        raise _none_readable(refs, skipped)
    bundle = PerViewModel(models)
    weights, description = bundle.to_bytes()
    training = {view: m.meta.get("training", {}) for view, m in models.items()}
    return Trained(
        weights, description, combined_calibration({v: m.meta.get("calibration") or {} for v, m in models.items()}),
        {"views": {v: {k: x for k, x in t.items() if k != "loss_curve"} for v, t in training.items()},
         "loss_curves": {v: t.get("loss_curve") for v, t in training.items()},
         "steps": max(int(t.get("steps") or 0) for t in training.values())},
        None, used, skipped)


def stacked_items(project, refs: list[ImageRef]) -> tuple[list[str], list[list[ImageRef]], list[dict]]:
    """(view order, each trainable item's images in that order, skipped images) for stacked training: items
    with every view labelled good. Refuses an item that lacks one of the views, naming it and its files."""
    good = {r.id for r in refs}
    item_ids = {r.item_id for r in refs}
    with project.session(readonly=True) as s:
        every = readable_images(s, item_ids=item_ids)
        names = item_names(s, item_ids)
    order = sorted({r.view for r in every})
    if len(order) < 2:
        has = f"only the view {order[0]!r}" if order and order[0] else "no views"
        raise ContrarioError(f"stacking views needs items with at least two views (import with --views); "
                             f"the training images have {has}")
    items, skipped = [], []
    for item_id, rows in group_by(every, lambda r: r.item_id).items():
        arranged = views_in_order(rows, order, lambda r: r.view)
        if arranged is None:
            raise ContrarioError(
                f"item {names.get(item_id, item_id)!r} ({', '.join(r.file_name for r in rows)}) has no "
                f"{missing_views(rows, order, lambda r: r.view)} view: stacking needs the views {order} in every item")
        not_good = [r for r in arranged if r.id not in good]
        if not_good:
            skipped += [{"image_id": r.id, "reason": f"{r.file_name}: item {names.get(item_id, item_id)!r} left out, "
                         "not every view is labelled good"} for r in arranged if r.id in good]
            continue
        items.append(arranged)
    return order, items, skipped


def train_stacked(project, refs, config, progress, cancel) -> Trained:
    """One U-Flow on each item's pixel-aligned views stacked along channels, in the recorded view order."""
    import dataclasses

    from core.models.uflow import train
    from core.models.uflow.views import stack_views

    order, items, skipped = stacked_items(project, refs)
    stacked, used = [], []
    for arranged in items:
        decoded, missed = decode(project, arranged, cancel)
        if missed:
            skipped += missed
            continue
        stacked.append(stack_views([im for _, im in decoded], [r.file_name for r in arranged]))
        used += arranged
    if not stacked:
        raise ContrarioError(f"no item has all of its views {order} labelled good and readable: nothing to stack"
                             + (f" ({skipped[0]['reason']})" if skipped else ""))
    model = train(stacked, dataclasses.replace(config, stack_views=len(order)), progress=progress, cancel=cancel)
    model.meta["views"] = order
    return _trained(model, used, skipped)


def train_views(project, mode: str | None, refs, config, progress, cancel, parent=None) -> Trained:
    if parent is not None and parent.config.stack_views > 1:
        raise ContrarioError("a stacked-views revision is not fine-tuned: train a new one with --stack-views")
    if mode is None:
        return train_single(project, refs, config, progress, cancel, parent)
    if mode not in VIEW_MODES:
        raise ContrarioError(f"unknown view mode {mode!r}; choose one of {VIEW_MODES}")
    if parent is not None:
        raise ContrarioError("fine-tuning trains one model on every image: per-view and stacked revisions train "
                             "from scratch")
    return (train_per_view if mode == PER_VIEW else train_stacked)(project, refs, config, progress, cancel)
