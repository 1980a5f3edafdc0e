"""Which file an image is read from, and which images of a batch are readable, in which order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sqlalchemy import select

from core.domain.enums import ImageStatus
from core.store.schema import Batch, Image, InferenceResult, Item


def image_source(project, blob: str | None, original_path: str) -> Path:
    """The file to decode: the project's own copy when imported with copy, else the original path.

    A blob value that is not a sha256 raises BadBlobName (core.store.blobs): it never becomes a path."""
    if blob:
        return Path(project.blobs.path(blob))
    return Path(original_path)


@dataclass(frozen=True)
class ImageRef:
    """A readable image: enough to find its file and to sort it."""

    id: int
    item_id: int
    batch_id: int
    original_path: str
    blob: str | None
    sha256: str | None
    file_size: int | None  # bytes at import: with sha256, what the file must still hold to be read
    view: str = ""  # the view of its item ("" when the item has one image)

    @property
    def file_name(self) -> str:
        return self.original_path.rsplit("/", 1)[-1]

    def source(self, project) -> Path:
        return image_source(project, self.blob, self.original_path)


def readable_images(session, batch_id: int | None = None, image_ids: Iterable[int] | None = None,
                    not_scored_by: int | None = None, item_ids: Iterable[int] | None = None) -> list[ImageRef]:
    """Images with status ok, in import order (batch, item, view, id).

    `batch_id`, `image_ids` and `item_ids` narrow the selection; `not_scored_by` leaves out the images that
    model revision has already scored.
    """
    q = (select(Image.id, Image.item_id, Item.batch_id, Image.original_path, Image.blob, Image.sha256,
                Image.file_size, Image.view)
         .join(Item, Image.item_id == Item.id).join(Batch, Item.batch_id == Batch.id)
         .where(Image.status == ImageStatus.OK.value)
         .order_by(Batch.id, Item.id, Image.view, Image.id))
    if batch_id is not None:
        q = q.where(Item.batch_id == batch_id)
    if image_ids is not None:
        q = q.where(Image.id.in_(list(image_ids)))
    if item_ids is not None:
        q = q.where(Image.item_id.in_(list(item_ids)))
    if not_scored_by is not None:
        done = select(InferenceResult.image_id).where(InferenceResult.model_revision_id == not_scored_by)
        q = q.where(Image.id.not_in(done))
    return [ImageRef(*row) for row in session.execute(q)]


def by_file_name(images: Iterable[ImageRef]) -> list[ImageRef]:
    """Sorted by file name, then full path: the order `--shots N` takes the first N from."""
    return sorted(images, key=lambda r: (r.file_name, r.original_path))


def item_names(session, item_ids: Iterable[int]) -> dict[int, str]:
    return dict(session.execute(select(Item.id, Item.name).where(Item.id.in_(list(item_ids)))).all())
