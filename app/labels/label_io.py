"""Worker-thread side of label mode: read an annotator's current mask, store an edited one (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.labels.editing import current_labels, image_shape, load_mask, save_mask


@dataclass
class LoadedMask:
    image_id: int
    mask: np.ndarray  # uint8 class ids, image size
    annotation_id: int | None  # the revision it came from (None: nothing labelled yet)
    started_from: str | None = None  # the reference annotator whose mask it starts from, when the user has none


@dataclass
class SaveRequest:
    """A snapshot of one image's edit, taken on the GUI thread; saving needs nothing else."""

    image_id: int
    annotator: str
    mask: np.ndarray
    verdict: str
    source: str
    source_ref: dict


def load_current_mask(project, image_id: int, annotator: str | None) -> LoadedMask:
    """The annotator's current mask of one image. When they have none, the adjudicated, else the imported
    ground-truth mask to start from (saving makes it the annotator's own); else an empty one."""
    from app.gallery.filtering import REFERENCE_ANNOTATORS

    with project.session(readonly=True) as s:
        shape = image_shape(s, image_id)
        labels = current_labels(s, image_ids=[image_id], annotator=annotator) if annotator else []
        reference = None
        if not labels:
            for who in REFERENCE_ANNOTATORS:
                found = current_labels(s, image_ids=[image_id], annotator=who)
                if found and found[0].mask_blob:
                    reference = found[0]
                    break
    if labels:
        return LoadedMask(image_id, load_mask(project, labels[0], shape), labels[0].id)
    if reference is not None:
        return LoadedMask(image_id, load_mask(project, reference, shape), None, started_from=reference.annotator)
    return LoadedMask(image_id, np.zeros(shape, dtype=np.uint8), None)


def verdict_for(mask: np.ndarray, current: str | None) -> str:
    """Marked pixels mean defect (an explicit "unsure" stays); an empty mask keeps the verdict given."""
    if mask.any():
        return "unsure" if current == "unsure" else "defect"
    return current or "good"


def store_mask(project, request: SaveRequest) -> int:
    """Append the annotator's next revision with this mask; returns the annotation id."""
    return save_mask(project, request.image_id, request.annotator, request.mask, verdict=request.verdict,
                     source=request.source, source_ref=request.source_ref)


def adjudication_input(project, image_id: int, path: str):
    """(comparison, display pixels) for the adjudication view."""
    from app.store_access import decode_for_display, image_record
    from core.labels.findings import compare_annotations

    return compare_annotations(project, image_id), decode_for_display(path, *image_record(project, image_id))


@dataclass
class ReferenceOutline:
    """The reference label's mask of one image as closed polygons (x, y in image pixels)."""

    annotator: str
    verdict: str | None
    polygons: list[np.ndarray]


def load_reference_outline(project, image_id: int) -> ReferenceOutline | None:
    """Outline of the adjudicated mask, else the imported ground-truth one; None when neither has a mask."""
    from app.gallery.filtering import REFERENCE_ANNOTATORS

    with project.session(readonly=True) as s:
        found = None
        for who in REFERENCE_ANNOTATORS:
            labels = current_labels(s, image_ids=[image_id], annotator=who)
            if labels and labels[0].mask_blob:
                found = labels[0]
                break
        if found is None:
            return None
        shape = image_shape(s, image_id)
    return ReferenceOutline(found.annotator, found.verdict, mask_polygons(load_mask(project, found, shape)))


def mask_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """Outlines of the marked (non-zero) pixels as closed polygons of (x, y) pixel-centre coordinates; only
    the box around the marked pixels is traced, so a small mask on a large image stays quick."""
    from skimage import measure

    marked = np.asarray(mask) > 0
    rows, cols = np.flatnonzero(marked.any(axis=1)), np.flatnonzero(marked.any(axis=0))
    if not rows.size:
        return []
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = np.pad(marked[y0:y1, x0:x1], 1).astype(np.float32)
    # undo the pad and the crop; + 0.5: pixel centres
    return [np.column_stack((c[:, 1] + (x0 - 0.5), c[:, 0] + (y0 - 0.5))) for c in measure.find_contours(crop, 0.5)]
