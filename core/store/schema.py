"""SQLAlchemy tables of a Contrario project (in project.sqlite, or in its PostgreSQL database).

Every change to these classes ships with an Alembic migration in core/store/migrations/versions/.
Large payloads (masks, anomaly maps, weights) live in the blob store; tables hold their sha256 keys.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time with its zone: SQLite hands back naive UTC, PostgreSQL aware times."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class ProjectSetting(Base):
    """Key/value settings of the project (name, active model revision, ...)."""

    __tablename__ = "project_settings"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[object] = mapped_column(JSON, nullable=True)


class Batch(Base):
    """An imported lot of images."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    product_line: Mapped[str | None] = mapped_column(String(256))
    source_folder: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    items: Mapped[list[Item]] = relationship(back_populates="batch", cascade="all, delete-orphan")


class Item(Base):
    """One physical object (a hide, a fruit); its images are its views."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("batch_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    batch: Mapped[Batch] = relationship(back_populates="items")
    images: Mapped[list[Image]] = relationship(back_populates="item", cascade="all, delete-orphan")


class Image(Base):
    """One image file: a view of an item. Failed imports are kept with their reason."""

    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("item_id", "view"),
        Index("ix_images_sha256", "sha256"),
        Index("ix_images_original_path", "original_path"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    view: Mapped[str] = mapped_column(String(256), default="")
    original_path: Mapped[str] = mapped_column(Text)  # absolute; images are referenced in place
    sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column(Integer)
    blob: Mapped[str | None] = mapped_column(String(64))  # copy in the blob store, when imported with copy
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))  # PNG | JPEG | BMP | TIFF
    mode: Mapped[str | None] = mapped_column(String(16))  # Pillow mode or tifffile-derived, e.g. "L", "RGB", "I;16"
    bit_depth: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | failed
    error: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    item: Mapped[Item] = relationship(back_populates="images")


class DefectClass(Base):
    """Per-project list of defect classes; mask pixels hold the class id (0 = background)."""

    __tablename__ = "defect_classes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    color: Mapped[str] = mapped_column(String(16), default="#ff0000")
    hotkey: Mapped[str | None] = mapped_column(String(16))


class Annotation(Base):
    """One revision of one annotator's label of one image. Revisions are never updated or deleted."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("image_id", "annotator", "revision"),
        Index("ix_annotations_image_annotator", "image_id", "annotator"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(128))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    verdict: Mapped[str | None] = mapped_column(String(16))  # good | defect | unsure
    defect_class: Mapped[str | None] = mapped_column(String(128))
    mask_blob: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32), default="manual")  # manual | import | model | adjudicated
    source_ref: Mapped[dict | None] = mapped_column(JSON)  # e.g. {"model_revision": 3} or {"annotations": [..]}


class DatasetRevision(Base):
    """A frozen list of images used to train a model."""

    __tablename__ = "dataset_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    description: Mapped[str | None] = mapped_column(Text)
    image_ids: Mapped[list] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 over the sorted image sha256s


class ModelRevision(Base):
    """A trained (or training-free) model with its lineage, calibration and figures."""

    __tablename__ = "model_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    name: Mapped[str | None] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(32), default="uflow")  # uflow | classic
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_revisions.id"))
    dataset_revision_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_revisions.id"))
    backbone: Mapped[str | None] = mapped_column(String(128))
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    calibration: Mapped[dict | None] = mapped_column(JSON)
    training_curve: Mapped[list | None] = mapped_column(JSON)
    figures: Mapped[dict | None] = mapped_column(JSON)
    weights_blob: Mapped[str | None] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)


class Job(Base):
    """A background job; the worker process writes status and progress here.

    The process running it is (`host`, `pid`); a chunk of a larger job names it in `parent_id`. While it runs,
    `step` of `total_steps`, the latest `loss` (training) and `eta_s` (seconds left) are its progress as fields.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # train | infer | ...
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed|cancelled
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict | None] = mapped_column(JSON)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE", name="fk_jobs_parent_id_jobs"),
                                                  index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    step: Mapped[int | None] = mapped_column(Integer)
    total_steps: Mapped[int | None] = mapped_column(Integer)
    loss: Mapped[float | None] = mapped_column(Float)
    eta_s: Mapped[float | None] = mapped_column(Float)


class InferenceResult(Base):
    """The output of one model revision on one image."""

    __tablename__ = "inference_results"
    __table_args__ = (UniqueConstraint("image_id", "model_revision_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    model_revision_id: Mapped[int] = mapped_column(
        ForeignKey("model_revisions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    score: Mapped[float] = mapped_column(Float)
    map_blob: Mapped[str | None] = mapped_column(String(64))  # anomaly map, see core.store.maps
    labels_blob: Mapped[str | None] = mapped_column(String(64))  # region label image, same grid as the map
    map_info: Mapped[dict | None] = mapped_column(JSON)  # shape, dtype, value scaling, geometry to image
    timing: Mapped[dict | None] = mapped_column(JSON)  # milliseconds per stage
    regions: Mapped[list[Region]] = relationship(back_populates="result", cascade="all, delete-orphan")


class Region(Base):
    """An a contrario detection: a connected region with its log10 NFA."""

    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("inference_results.id", ondelete="CASCADE"), index=True)
    label: Mapped[int] = mapped_column(Integer)  # value of this region in the result's labels_blob
    log10_nfa: Mapped[float] = mapped_column(Float)
    area: Mapped[int] = mapped_column(Integer)  # pixels of the original image
    x0: Mapped[int] = mapped_column(Integer)
    y0: Mapped[int] = mapped_column(Integer)
    x1: Mapped[int] = mapped_column(Integer)
    y1: Mapped[int] = mapped_column(Integer)
    scale: Mapped[int] = mapped_column(Integer)
    result: Mapped[InferenceResult] = relationship(back_populates="regions")
