"""Annotators' current revisions and the label of an image.

The label of an image (training set, revision figures, exports and findings all use this rule):
1. its current adjudicated revision, when that has a verdict;
2. else the verdict most annotators give in their current revisions (an annotator whose current revision
   has no verdict does not vote, and "unsure" counts only when nobody says good or defect);
3. a tie between verdicts goes to the newest revision among the tied ones (one reviewer correcting one
   other: the correction wins; findings still list the disagreement);
4. none when no annotator has a verdict.
The label rests on the newest revision with the winning verdict: its defect class and mask go with it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select

from core.domain.enums import Verdict
from core.domain.images import ImageRef, by_file_name, readable_images
from core.store.schema import Annotation

ADJUDICATED = "adjudicated"  # annotator name of adjudicated revisions; the person is in source_ref["by"]
_IN_CHUNK = 5000


@dataclass(frozen=True)
class LabelRecord:
    """A detached copy of one Annotation row, safe to use after its session closed."""

    id: int
    image_id: int
    annotator: str
    revision: int
    parent_id: int | None
    created_at: datetime | None
    verdict: str | None
    defect_class: str | None
    mask_blob: str | None
    source: str
    source_ref: dict | None

    @classmethod
    def of(cls, ann: Annotation) -> LabelRecord:
        return cls(ann.id, ann.image_id, ann.annotator, ann.revision, ann.parent_id, ann.created_at, ann.verdict,
                   ann.defect_class, ann.mask_blob, ann.source, ann.source_ref)


def current_annotations(session, image_ids: list[int] | None = None,
                        annotator: str | None = None) -> list[Annotation]:
    """The latest revision per (image, annotator), ordered by image id then annotator."""
    if image_ids is not None:
        ids = sorted(set(image_ids))
        if len(ids) > _IN_CHUNK:  # stay under SQLite's limit on bound parameters
            out: list[Annotation] = []
            for lo in range(0, len(ids), _IN_CHUNK):
                out += current_annotations(session, ids[lo:lo + _IN_CHUNK], annotator)
            return sorted(out, key=lambda a: (a.image_id, a.annotator))
    latest = select(
        Annotation.image_id, Annotation.annotator, func.max(Annotation.revision).label("revision")
    ).group_by(Annotation.image_id, Annotation.annotator)
    if image_ids is not None:
        latest = latest.where(Annotation.image_id.in_(list(image_ids)))
    if annotator is not None:
        latest = latest.where(Annotation.annotator == annotator)
    latest = latest.subquery()
    stmt = (
        select(Annotation)
        .join(
            latest,
            (Annotation.image_id == latest.c.image_id)
            & (Annotation.annotator == latest.c.annotator)
            & (Annotation.revision == latest.c.revision),
        )
        .order_by(Annotation.image_id, Annotation.annotator)
    )
    return list(session.scalars(stmt))


def current_labels(session, image_ids: list[int] | None = None, annotator: str | None = None) -> list[LabelRecord]:
    """current_annotations() as detached records."""
    return [LabelRecord.of(a) for a in current_annotations(session, image_ids=image_ids, annotator=annotator)]


@dataclass(frozen=True)
class ImageLabel:
    """The label of one image and what it rests on."""

    verdict: str | None
    rule: str  # "adjudicated" | "majority" | "newest of a tie" | "none"
    record: LabelRecord | None  # the revision whose class and mask go with the label
    basis: tuple[LabelRecord, ...] = ()  # the revisions that decided it

    @property
    def defect_class(self) -> str | None:
        return self.record.defect_class if self.record is not None else None

    @property
    def mask_blob(self) -> str | None:
        return self.record.mask_blob if self.record is not None else None


NO_LABEL = ImageLabel(None, "none", None)


def _newest(records: Iterable[LabelRecord]) -> LabelRecord:
    return max(records, key=lambda r: (r.created_at or datetime.min, r.id))


def label_of(records: Iterable[LabelRecord]) -> ImageLabel:
    """Apply the module rule to the current revisions of one image (one per annotator)."""
    records = list(records)
    adjudicated = [r for r in records if r.annotator == ADJUDICATED and r.verdict]
    if adjudicated:
        rec = _newest(adjudicated)
        return ImageLabel(rec.verdict, "adjudicated", rec, (rec,))
    votes = [r for r in records if r.annotator != ADJUDICATED and r.verdict]
    decided = [r for r in votes if r.verdict != Verdict.UNSURE]
    votes = decided or votes
    if not votes:
        return NO_LABEL
    counts = Counter(r.verdict for r in votes)
    most = max(counts.values())
    tied = [r for r in votes if counts[r.verdict] == most]
    top = _newest(tied).verdict
    agreeing = tuple(r for r in votes if r.verdict == top)
    rule = "majority" if sum(1 for n in counts.values() if n == most) == 1 else "newest of a tie"
    return ImageLabel(top, rule, _newest(agreeing), agreeing)


def labels_by_image(records: Iterable[LabelRecord]) -> dict[int, ImageLabel]:
    """Group current revisions by image and apply the rule; images without a label are left out."""
    grouped: dict[int, list[LabelRecord]] = {}
    for r in records:
        grouped.setdefault(r.image_id, []).append(r)
    out = {}
    for image_id, recs in grouped.items():
        lab = label_of(recs)
        if lab.verdict is not None:
            out[image_id] = lab
    return out


def image_labels(session, image_ids: Iterable[int] | None = None) -> dict[int, ImageLabel]:
    """The label of each image (of `image_ids`, else every image) that has one."""
    ids = None if image_ids is None else list(image_ids)
    return labels_by_image(current_labels(session, image_ids=ids))


def confirmed_good_images(session, batch_id: int | None = None) -> list[ImageRef]:
    """Readable images (of one batch, or all) whose label is good, by file name (the order --shots takes)."""
    images = readable_images(session, batch_id)
    labels = image_labels(session, [r.id for r in images] if batch_id is not None else None)
    return by_file_name(r for r in images if labels.get(r.id, NO_LABEL).verdict == Verdict.GOOD)
