"""What the workbench reads from and writes to the project store (Qt-free, fast bulk queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from app.canvas.results import RegionInfo, ResultOverlay, build_overlay
from core.domain.active_model import active_model
from core.domain.enums import VERDICTS, ImageStatus
from core.domain.images import image_source
from core.store.blobs import BadBlobName
from core.store.schema import (
    Annotation,
    Batch,
    Image,
    InferenceResult,
    Item,
    Region,
)


@dataclass
class ImageRow:
    """One image as the gallery and the review flow see it."""

    image_id: int
    item_id: int
    batch_id: int
    batch_name: str
    item_name: str
    view: str
    path: str
    sha256: str | None
    status: str
    error: str | None
    file_size: int | None = None
    score: float | None = None
    best_log10_nfa: float | None = None  # most significant region (None: not scored or no region)
    my_verdict: str | None = None
    other_verdicts: dict[str, str] = field(default_factory=dict)  # annotator -> verdict

    @property
    def title(self) -> str:
        return f"{self.item_name} · {self.view}" if self.view else self.item_name

    @property
    def failed(self) -> bool:
        return self.status != ImageStatus.OK

    def detected(self, k: float) -> bool:
        return self.best_log10_nfa is not None and self.best_log10_nfa <= -k

    def disagreement(self) -> bool:
        verdicts = {v for v in self.other_verdicts.values() if v}
        if self.my_verdict:
            verdicts.add(self.my_verdict)
        return len(verdicts) > 1


def active_model_revision_id(project) -> int | None:
    """The active model revision (core.domain.active_model); None when no model exists."""
    return active_model(project)


def load_rows(project, annotator: str | None, model_revision_id: int | None) -> list[ImageRow]:
    """All images in import order with score, best region and current verdicts (a few bulk queries)."""
    with project.session(readonly=True) as s:
        rows = s.execute(
            select(
                Image.id, Image.item_id, Item.batch_id, Batch.name, Item.name, Image.view,
                Image.original_path, Image.blob, Image.sha256, Image.status, Image.error, Image.file_size,
            )
            .join(Item, Image.item_id == Item.id)
            .join(Batch, Item.batch_id == Batch.id)
            .order_by(Batch.id, Item.id, Image.view, Image.id)
        ).all()
        out = [
            ImageRow(r[0], r[1], r[2], r[3], r[4], r[5] or "", _path_of(project, r[7], r[6]), r[8], r[9], r[10],
                     r[11])
            for r in rows
        ]
        by_id = {r.image_id: r for r in out}
        if model_revision_id is not None:
            scored = s.execute(
                select(InferenceResult.image_id, InferenceResult.score, func.min(Region.log10_nfa))
                .outerjoin(Region, Region.result_id == InferenceResult.id)
                .where(InferenceResult.model_revision_id == model_revision_id)
                .group_by(InferenceResult.id)
            ).all()
            for image_id, score, best in scored:
                row = by_id.get(image_id)
                if row is not None:
                    row.score, row.best_log10_nfa = score, best
        latest = (
            select(Annotation.image_id, Annotation.annotator, func.max(Annotation.revision).label("rev"))
            .group_by(Annotation.image_id, Annotation.annotator)
            .subquery()
        )
        current = s.execute(
            select(Annotation.image_id, Annotation.annotator, Annotation.verdict).join(
                latest,
                (Annotation.image_id == latest.c.image_id)
                & (Annotation.annotator == latest.c.annotator)
                & (Annotation.revision == latest.c.rev),
            )
        ).all()
        for image_id, who, verdict in current:
            row = by_id.get(image_id)
            if row is None:
                continue
            if who == annotator:
                row.my_verdict = verdict
            elif verdict:
                row.other_verdicts[who] = verdict
    return out


def _path_of(project, blob: str | None, original: str) -> str:
    try:
        return str(image_source(project, blob, original)) if blob else original
    except BadBlobName:  # a malformed value never becomes a path; the image shows from where it was imported
        return original


def load_overlay(project, image_id: int, model_revision_id: int | None, image_size: tuple[int, int]) -> ResultOverlay | None:
    """The stored result of one image under one model, outlines traced; None when not scored."""
    if model_revision_id is None:
        return None
    with project.session(readonly=True) as s:
        res = s.scalar(
            select(InferenceResult).where(
                InferenceResult.image_id == image_id, InferenceResult.model_revision_id == model_revision_id
            )
        )
        if res is None or res.map_blob is None:
            return None
        regions = [
            RegionInfo(r.label, float(r.log10_nfa), int(r.area), (r.x0, r.y0, r.x1, r.y1))
            for r in s.scalars(select(Region).where(Region.result_id == res.id).order_by(Region.log10_nfa))
        ]
        score, map_blob, labels_blob, info = res.score, res.map_blob, res.labels_blob, dict(res.map_info or {})
    heat = project.blobs.get_array(map_blob)
    labels = project.blobs.get_array(labels_blob) if labels_blob else None
    size = tuple(info.get("image_size") or image_size)
    return build_overlay(score, heat, info, (int(size[0]), int(size[1])), labels, regions)


def save_verdict(project, image_id: int, annotator: str, verdict: str | None) -> int:
    """Append one annotation revision (one transaction); returns the annotation id.

    A defect or unsure verdict keeps the mask and class of the annotator's previous revision."""
    from core.labels.revisions import add_annotation, current_annotations

    if verdict is not None and verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    with project.session() as s:
        keep = {}
        if verdict in ("defect", "unsure"):
            previous = current_annotations(s, image_ids=[image_id], annotator=annotator)
            if previous:
                keep = {"mask_blob": previous[0].mask_blob, "defect_class": previous[0].defect_class}
        ann = add_annotation(s, image_id, annotator, verdict=verdict, source="manual", **keep)
        s.flush()
        return int(ann.id)


def batches(project) -> list[tuple[int, str, int]]:
    """(batch id, name, image count) in import order."""
    with project.session(readonly=True) as s:
        return [
            (bid, name, int(n))
            for bid, name, n in s.execute(
                select(Batch.id, Batch.name, func.count(Image.id))
                .outerjoin(Item, Item.batch_id == Batch.id)
                .outerjoin(Image, Image.item_id == Item.id)
                .group_by(Batch.id)
                .order_by(Batch.id)
            ).all()
        ]


def queue_score_job(project, batch_id: int, model_revision_id: int) -> int:
    """Insert a queued inference job for a batch; workers of core.jobs pick it up."""
    from core.jobs import queue

    return int(queue.submit(project, "infer", {"model_revision_id": model_revision_id, "batch_id": batch_id,
                                               "image_ids": None}))


def queue_images_score_job(project, image_ids: list[int], model_revision_id: int) -> int:
    """Insert a queued inference job for some images (non-empty: an empty list would mean all)."""
    from core.jobs import queue

    if not image_ids:
        raise ValueError("no image to score")
    return int(queue.submit(project, "infer", {"model_revision_id": model_revision_id, "batch_id": None,
                                               "image_ids": list(image_ids)}))


def request_cancel(project, job_id: int) -> None:
    from core.jobs import queue

    queue.request_cancel(project, job_id)


def decode_for_display(path: str | Path, sha256: str | None, file_size: int | None) -> np.ndarray:
    """Decode an image file into a uint8 array the canvas can show, only while it holds what was imported
    (size and sha256, as for scoring): ChangedFileError naming the file otherwise, ImageError when unreadable."""
    from core.io.checked_files import read_checked_image
    from core.io.thumbnails import to_display_uint8

    return to_display_uint8(read_checked_image(path, sha256, file_size).pixels)


def image_record(project, image_id: int) -> tuple[str | None, int | None]:
    """(sha256, file size) recorded at import."""
    with project.session(readonly=True) as s:
        row = s.execute(select(Image.sha256, Image.file_size).where(Image.id == image_id)).first()
    return (row[0], row[1]) if row else (None, None)
