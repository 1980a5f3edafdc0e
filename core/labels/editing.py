"""Saving edited masks and adjudications: each save appends one annotation revision, nothing is overwritten."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from core.domain.labels import ADJUDICATED, LabelRecord, current_labels
from core.errors import ContrarioError
from core.labels.classes import dominant_class
from core.labels.revisions import add_annotation
from core.store.schema import Annotation, DefectClass, Image

__all__ = ["ADJUDICATED", "LabelRecord", "current_labels", "image_shape", "check_mask", "class_name",
           "save_mask", "load_mask", "adjudicate"]


def image_shape(session, image_id: int) -> tuple[int, int]:
    img = session.get(Image, image_id)
    if img is None:
        raise ContrarioError(f"no image with id {image_id}")
    if not img.height or not img.width:
        raise ContrarioError(f"image {image_id} has no known size (failed import?)")
    return int(img.height), int(img.width)


def check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.shape != tuple(shape):
        raise ContrarioError(f"mask of shape {mask.shape} does not match the image ({shape[0]}x{shape[1]})")
    if mask.dtype != np.uint8:
        if mask.dtype == bool:
            mask = mask.astype(np.uint8)
        elif np.issubdtype(mask.dtype, np.integer) and mask.min() >= 0 and mask.max() <= 255:
            mask = mask.astype(np.uint8)
        else:
            raise ContrarioError(f"a mask holds class ids 0..255, got dtype {mask.dtype}")
    return np.ascontiguousarray(mask)


def class_name(session, class_id: int) -> str | None:
    if class_id <= 0:
        return None
    row = session.get(DefectClass, class_id)
    return row.name if row is not None else None


def save_mask(
    project,
    image_id: int,
    annotator: str,
    mask: np.ndarray,
    verdict: str | None = None,
    source: str = "manual",
    source_ref: dict | None = None,
) -> int:
    """Store `mask` and append the annotator's next revision; returns the new annotation id.

    Without a verdict: "defect" when any pixel is set, else "good". The defect class is the one
    covering most pixels. The blob is written first (atomic, content-addressed); the revision row is
    one transaction, so a failure leaves the previous revisions as they were.
    """
    with project.session(readonly=True) as s:
        shape = image_shape(s, image_id)
    mask = check_mask(mask, shape)
    has_defect = bool(mask.any())
    if verdict is None:
        verdict = "defect" if has_defect else "good"
    blob = project.blobs.put_array(mask) if has_defect else None
    with project.session() as s:
        ann = add_annotation(
            s, image_id, annotator, verdict=verdict, defect_class=class_name(s, dominant_class(mask)),
            mask_blob=blob, source=source, source_ref=source_ref,
        )
        return int(ann.id)


def load_mask(project, annotation: LabelRecord | Annotation, shape: tuple[int, int]) -> np.ndarray:
    """The annotation's mask, or an empty one when it has none."""
    if annotation.mask_blob:
        mask = project.blobs.get_array(annotation.mask_blob)
        if mask.shape != tuple(shape):
            raise ContrarioError(
                f"annotation {annotation.id}: stored mask {mask.shape} does not match its image {shape}"
            )
        return mask.astype(np.uint8, copy=False)
    return np.zeros(shape, dtype=np.uint8)


def adjudicate(
    project,
    image_id: int,
    source_ids: list[int],
    mask: np.ndarray,
    by: str,
    method: str,
    verdict: str | None = None,
) -> int:
    """Append an adjudicated revision that cites the annotations it was decided from."""
    if not source_ids:
        raise ContrarioError("an adjudication cites at least one annotation")
    with project.session(readonly=True) as s:
        found = s.scalars(select(Annotation.image_id).where(Annotation.id.in_(source_ids))).all()
    if len(found) != len(set(source_ids)) or any(i != image_id for i in found):
        raise ContrarioError(f"the cited annotations {source_ids} are not all labels of image {image_id}")
    ref = {"annotations": sorted(int(i) for i in set(source_ids)), "method": method, "by": by}
    return save_mask(project, image_id, ADJUDICATED, mask, verdict=verdict, source="adjudicated", source_ref=ref)
