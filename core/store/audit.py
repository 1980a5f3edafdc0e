"""The audit trail of a project's labels: who labelled what and when, read from the annotation revisions.

Every label edit is a new row of `annotations` (never updated or deleted), so the table itself is the trail:
`audit_trail` lists revisions (newest first) with the image they label, `annotator_summaries` counts each
annotator's work. An adjudicated revision is stored under the annotator name "adjudicated"; the person who
decided it and the revisions it cites are in its `source_ref` and shown here as `by` and `cites`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from core.store.schema import Annotation, Batch, Image, Item, as_utc


@dataclass(frozen=True)
class AuditEntry:
    """One revision of one annotator's label of one image."""

    annotation_id: int
    created_at: datetime | None
    annotator: str
    by: str | None  # the person behind an adjudicated revision
    image_id: int
    batch: str
    item: str
    view: str
    revision: int
    verdict: str | None
    defect_class: str | None
    mask: bool
    source: str
    cites: tuple[int, ...] = ()  # annotations an adjudicated revision was decided from

    @property
    def who(self) -> str:
        return f"{self.annotator} (by {self.by})" if self.by else self.annotator

    def to_dict(self) -> dict:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        out["cites"] = list(self.cites)
        return out


@dataclass
class AnnotatorSummary:
    """What one annotator did: revisions written, images labelled, and their current labels."""

    annotator: str
    revisions: int = 0
    images: int = 0
    current: dict[str, int] = field(default_factory=dict)  # verdict of the current revisions -> images
    masks: int = 0  # current revisions with a mask
    sources: dict[str, int] = field(default_factory=dict)  # manual | import | model | adjudicated -> revisions
    first_at: datetime | None = None
    last_at: datetime | None = None
    by: list[str] = field(default_factory=list)  # people behind adjudicated revisions

    def to_dict(self) -> dict:
        out = asdict(self)
        out["first_at"] = self.first_at.isoformat() if self.first_at else None
        out["last_at"] = self.last_at.isoformat() if self.last_at else None
        return out


def _ref_parts(ref) -> tuple[str | None, tuple[int, ...]]:
    if not isinstance(ref, dict):
        return None, ()
    by = ref.get("by")
    cites = ref.get("annotations") or []
    return (str(by) if by else None), tuple(int(c) for c in cites if isinstance(c, int))


def audit_trail(project, *, annotator: str | None = None, image_id: int | None = None, batch: str | None = None,
                since: datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Label revisions, newest first, optionally of one annotator, image or batch, or from `since` on."""
    stmt = (
        select(Annotation, Batch.name, Item.name, Image.view)
        .join(Image, Annotation.image_id == Image.id)
        .join(Item, Image.item_id == Item.id)
        .join(Batch, Item.batch_id == Batch.id)
        .order_by(Annotation.created_at.desc(), Annotation.id.desc())
    )
    if annotator is not None:
        stmt = stmt.where(Annotation.annotator == annotator)
    if image_id is not None:
        stmt = stmt.where(Annotation.image_id == image_id)
    if batch is not None:
        stmt = stmt.where(Batch.name == batch)
    if since is not None:
        stmt = stmt.where(Annotation.created_at >= since)
    if limit is not None:
        stmt = stmt.limit(limit)
    out = []
    with project.session(readonly=True) as s:
        for ann, batch_name, item, view in s.execute(stmt):
            by, cites = _ref_parts(ann.source_ref)
            out.append(AuditEntry(int(ann.id), as_utc(ann.created_at), ann.annotator, by, int(ann.image_id),
                                  batch_name, item, view or "", int(ann.revision), ann.verdict, ann.defect_class,
                                  bool(ann.mask_blob), ann.source, cites))
    return out


def annotator_summaries(project, *, batch: str | None = None) -> list[AnnotatorSummary]:
    """One summary per annotator (of one batch's images, or all), by name."""

    def scoped(stmt):
        if batch is None:
            return stmt
        return (stmt.join(Image, Annotation.image_id == Image.id).join(Item, Image.item_id == Item.id)
                .join(Batch, Item.batch_id == Batch.id).where(Batch.name == batch))

    out: dict[str, AnnotatorSummary] = {}
    with project.session(readonly=True) as s:
        totals = scoped(select(Annotation.annotator, func.count(Annotation.id),
                               func.count(func.distinct(Annotation.image_id)),
                               func.min(Annotation.created_at), func.max(Annotation.created_at))
                        .group_by(Annotation.annotator))
        for who, n, images, first, last in s.execute(totals):
            out[who] = AnnotatorSummary(who, int(n), int(images), first_at=as_utc(first), last_at=as_utc(last))
        for who, source, n in s.execute(scoped(select(Annotation.annotator, Annotation.source, func.count(Annotation.id))
                                               .group_by(Annotation.annotator, Annotation.source))):
            out[who].sources[source] = int(n)
        latest = scoped(select(Annotation.image_id, Annotation.annotator, func.max(Annotation.revision).label("rev"))
                        .group_by(Annotation.image_id, Annotation.annotator)).subquery()
        current = (
            select(Annotation.annotator, Annotation.verdict, func.count(Annotation.id),
                   func.count(Annotation.mask_blob))
            .join(latest, (Annotation.image_id == latest.c.image_id) & (Annotation.annotator == latest.c.annotator)
                  & (Annotation.revision == latest.c.rev))
            .group_by(Annotation.annotator, Annotation.verdict)
        )
        for who, verdict, n, masks in s.execute(current):
            out[who].current[verdict or "none"] = int(n)
            out[who].masks += int(masks)
        refs = scoped(select(Annotation.annotator, Annotation.source_ref).where(Annotation.source == "adjudicated"))
        for who, ref in s.execute(refs):
            person, _cites = _ref_parts(ref)
            if person and person not in out[who].by:
                out[who].by.append(person)
    for summary in out.values():
        summary.by.sort()
    return [out[name] for name in sorted(out)]
