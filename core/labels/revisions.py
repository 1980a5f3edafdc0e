"""Annotation revisions: every edit adds a row (revision = previous + 1, parent_id = previous row); old rows
are never updated or deleted, so the full history of every image and annotator stays in the project.

Masks are blobs (see BlobStore.put_array): 2-D uint8 (or uint16) arrays whose pixels hold the DefectClass id
of the defect there, 0 = background; `mask > 0` is the defect area.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.domain.enums import VERDICTS
from core.domain.labels import current_annotations
from core.errors import ContrarioError
from core.store.schema import Annotation, DefectClass, Image

__all__ = ["VERDICTS", "SOURCES", "ensure_defect_class", "add_annotation", "current_annotations",
           "annotation_history"]

SOURCES = ("manual", "import", "model", "adjudicated")


def ensure_defect_class(session: Session, name: str) -> DefectClass:
    """The DefectClass called `name`, created if the project has none yet."""
    cls = session.scalar(select(DefectClass).where(DefectClass.name == name))
    if cls is None:
        cls = DefectClass(name=name)
        session.add(cls)
        session.flush()
    return cls


def add_annotation(
    session: Session,
    image_id: int,
    annotator: str,
    verdict: str | None = None,
    defect_class: str | None = None,
    mask_blob: str | None = None,
    source: str = "manual",
    source_ref: dict | None = None,
) -> Annotation:
    """Add the next revision of `annotator`'s label of one image and return it (flushed, with its id)."""
    if verdict is not None and verdict not in VERDICTS:
        raise ContrarioError(f"unknown verdict {verdict!r} (expected one of {', '.join(VERDICTS)})")
    if not annotator or not annotator.strip():
        raise ContrarioError("an annotation needs an annotator name")
    if session.get(Image, image_id) is None:
        raise ContrarioError(f"no image with id {image_id}")
    if defect_class:
        ensure_defect_class(session, defect_class)
    previous = session.scalar(
        select(Annotation)
        .where(Annotation.image_id == image_id, Annotation.annotator == annotator)
        .order_by(Annotation.revision.desc())
        .limit(1)
    )
    ann = Annotation(
        image_id=image_id,
        annotator=annotator,
        revision=1 if previous is None else previous.revision + 1,
        parent_id=None if previous is None else previous.id,
        verdict=verdict,
        defect_class=defect_class,
        mask_blob=mask_blob,
        source=source,
        source_ref=source_ref,
    )
    session.add(ann)
    session.flush()
    return ann


def annotation_history(session: Session, image_id: int) -> list[Annotation]:
    """Every revision of every annotator of one image, oldest first."""
    stmt = (
        select(Annotation)
        .where(Annotation.image_id == image_id)
        .order_by(Annotation.created_at, Annotation.annotator, Annotation.revision, Annotation.id)
    )
    return list(session.scalars(stmt))
