"""Building job payloads from what the user asked for, with clear errors when it makes no sense."""

from __future__ import annotations

from sqlalchemy import select

from core.domain.active_model import active_model_in
from core.domain.enums import ImageStatus
from core.domain.labels import confirmed_good_images
from core.domain.view_modes import VIEW_MODES
from core.errors import ContrarioError
from core.models.revisions import u_shaped, uflow_config
from core.store.schema import Batch, Image, ModelRevision


def batch_id_by_name(session, name: str) -> int:
    batch_id = session.scalar(select(Batch.id).where(Batch.name == name))
    if batch_id is None:
        names = ", ".join(session.scalars(select(Batch.name).order_by(Batch.name))) or "none"
        raise ContrarioError(f"no batch named {name!r} (batches: {names})")
    return batch_id


FLIPS = {"auto": None, "on": 3, "off": 0}  # UFlowConfig.image_flips; None: its default, the automatic check
SCALES = {"auto": None, "u-shape": True, "independent": False}  # UFlowConfig.scale_context; None: chosen in training


def _choice(value: str | bool | None, keys, ticked: str) -> str | None:
    """The key of `value` among `keys`: a key itself, or a tick as saved before the choice had three ways (True:
    `ticked`, False or None: "auto"); None when it is neither."""
    if isinstance(value, str):
        return value if value in keys else None
    return ticked if value is True else "auto" if value in (False, None) else None


def flip_choice(flips: str | bool | None) -> str | None:
    """The FLIPS key of `flips` (a tick saved before: "on")."""
    return _choice(flips, FLIPS, "on")


def scales_choice(scales: str | bool | None) -> str | None:
    """The SCALES key of `scales` (a tick saved before: "independent")."""
    return _choice(scales, SCALES, "independent")


def flip_overrides(flips: str | bool | None) -> dict:
    """UFlowConfig overrides for "auto" (or None / False), "on" (or True) and "off"."""
    key = flip_choice(flips)
    if key is None:
        raise ContrarioError(f"flips must be one of {', '.join(FLIPS)}, got {flips!r}")
    return {} if FLIPS[key] is None else {"image_flips": FLIPS[key]}


def training_overrides(flips: str | bool | None = "auto", keep_exposure: bool = False,
                       scales: str = "auto") -> dict:
    """UFlowConfig overrides of the options `train` and `eval` share (core.commands.training_options)."""
    config = flip_overrides(flips)
    if keep_exposure:
        config["exposure_gain"] = False
    if scales not in SCALES:
        raise ContrarioError(f"scales must be one of {', '.join(SCALES)}, got {scales!r}")
    if SCALES[scales] is not None:
        config["scale_context"] = SCALES[scales]
    return config


def train_payload(project, image_ids=None, batch=None, shots=None, parent_revision=None, backbone=None,
                  input_size=None, steps=None, activate=False, score_after: dict | None = None,
                  tiling: dict | None = None, views: str | None = None, flips: str | bool = "auto",
                  keep_exposure: bool = False, scales: str = "auto") -> dict:
    """`score_after` ({"batch": name} or {}) queues an inference job with the new revision when training ends;
    `tiling` ({"tiling": False} or {"tile_px": PX}) sets how large images are tiled (UFlowConfig fields);
    `views` (core.domain.view_modes: "per_view" or "stacked") trains per view or on stacked aligned views;
    `flips` ("auto", "on" or "off": FLIPS) sets UFlowConfig.image_flips; `keep_exposure`
    scores images at their own exposure (UFlowConfig.exposure_gain off); `scales` ("auto", "u-shape" or
    "independent": SCALES) sets UFlowConfig.scale_context. A fine-tuned revision keeps its parent's exposure and
    scales."""
    if views is not None and views not in VIEW_MODES:
        raise ContrarioError(f"unknown view mode {views!r}; choose one of {', '.join(VIEW_MODES)}")
    if views is not None and parent_revision is not None:
        raise ContrarioError("fine-tuning trains one model on every image: per-view and stacked revisions train "
                             "from scratch (leave out --from-revision)")
    with project.session(readonly=True) as s:
        batch_id = batch_id_by_name(s, batch) if batch else None
        parent = s.get(ModelRevision, parent_revision) if parent_revision is not None else None
        if parent_revision is not None and parent is None:
            raise ContrarioError(f"no model revision {parent_revision} to fine-tune from")
        if parent is not None and SCALES.get(scales) is not None:
            parent_u = u_shaped(uflow_config(parent.config))
            if SCALES[scales] != parent_u:
                layout = "the U-shaped flow" if parent_u else "one flow per scale"
                raise ContrarioError(f"model revision {parent_revision} has {layout}, and a fine-tuned revision "
                                     "keeps its parent's: leave the scales to the parent")
        if image_ids:
            found = set(s.scalars(select(Image.id).where(Image.id.in_(image_ids),
                                                         Image.status == ImageStatus.OK.value)))
            missing = sorted(set(image_ids) - found)
            if missing:
                raise ContrarioError(f"image ids not found or not readable: {missing[:10]}")
        elif not confirmed_good_images(s, batch_id):
            where = f" in batch {batch!r}" if batch else ""
            raise ContrarioError(
                f"no image is confirmed good{where}: mark good images first (review them, or import an "
                "MVTec folder), or use the training-free detector")
    config = {k: v for k, v in dict(backbone=backbone, input_size=input_size, train_steps=steps).items() if v}
    config.update(tiling or {})
    config.update(training_overrides(flips, keep_exposure, scales))
    return {"image_ids": list(image_ids) if image_ids else None, "batch_id": batch_id, "shots": shots,
            "parent_revision_id": parent_revision, "config": config, "activate": bool(activate),
            "score_after": score_after, "views": views}


def infer_payload(project, batch=None, image_ids=None, revision=None, tiling: dict | None = None) -> dict:
    """`tiling` overrides the revision's tiling for this scoring (UFlowConfig fields `tiling`, `tile_px`)."""
    with project.session(readonly=True) as s:
        if revision is None:
            revision = active_model_in(s)
            if revision is None:
                raise ContrarioError("the project has no model yet: train one first (contrario train)")
        elif s.get(ModelRevision, revision) is None:
            raise ContrarioError(f"no model revision {revision}")
        batch_id = batch_id_by_name(s, batch) if batch else None
    payload = {"model_revision_id": revision, "batch_id": batch_id,
               "image_ids": list(image_ids) if image_ids else None}
    if tiling:
        payload["tiling"] = dict(tiling)
    return payload


def create_training_free_revision(project, variant: str = "patch_pca", activate: bool = False) -> int:
    """Kept here for the workbench's callers; the revision is made by core.models.revisions."""
    from core.models.revisions import create_training_free_revision as create

    return create(project, variant, activate)
