"""Building job payloads from what the user asked for, with clear errors when it makes no sense."""

from __future__ import annotations

from sqlalchemy import func, select

from core.errors import ContrarioError
from core.store.schema import Annotation, Batch, Image, Item, ModelRevision

ACTIVE_MODEL_KEY = "active_model_revision"


def batch_id_by_name(session, name: str) -> int:
    batch_id = session.scalar(select(Batch.id).where(Batch.name == name))
    if batch_id is None:
        names = ", ".join(session.scalars(select(Batch.name).order_by(Batch.name))) or "none"
        raise ContrarioError(f"no batch named {name!r} (batches: {names})")
    return batch_id


def latest_verdicts(session, image_ids=None) -> dict[int, str | None]:
    """The verdict of each image's most recent annotation, whoever made it."""
    last = select(Annotation.image_id, func.max(Annotation.id).label("aid")).group_by(Annotation.image_id)
    if image_ids is not None:
        last = last.where(Annotation.image_id.in_(list(image_ids)))
    last = last.subquery()
    rows = session.execute(select(Annotation.image_id, Annotation.verdict).join(last, Annotation.id == last.c.aid))
    return dict(rows.all())


def confirmed_good_image_ids(session, batch_id: int | None = None) -> list[int]:
    """Readable images whose current verdict is good, sorted by file name (the order --shots takes)."""
    q = select(Image.id, Image.original_path).join(Item).where(Image.status == "ok")
    if batch_id is not None:
        q = q.where(Item.batch_id == batch_id)
    rows = session.execute(q).all()
    verdicts = latest_verdicts(session, [r[0] for r in rows])
    good = [(path, iid) for iid, path in rows if verdicts.get(iid) == "good"]
    return [iid for _path, iid in sorted(good, key=lambda t: (t[0].rsplit("/", 1)[-1], t[0]))]


def active_model_revision(project) -> int | None:
    return project.get_setting(ACTIVE_MODEL_KEY, None)


def train_payload(project, image_ids=None, batch=None, shots=None, parent_revision=None, backbone=None,
                  input_size=None, steps=None, activate=False, score_after: dict | None = None) -> dict:
    """`score_after` ({"batch": name} or {}) queues an inference job with the new revision when training ends."""
    with project.session(readonly=True) as s:
        batch_id = batch_id_by_name(s, batch) if batch else None
        if parent_revision is not None and s.get(ModelRevision, parent_revision) is None:
            raise ContrarioError(f"no model revision {parent_revision} to fine-tune from")
        if image_ids:
            found = set(s.scalars(select(Image.id).where(Image.id.in_(image_ids), Image.status == "ok")))
            missing = sorted(set(image_ids) - found)
            if missing:
                raise ContrarioError(f"image ids not found or not readable: {missing[:10]}")
        elif not confirmed_good_image_ids(s, batch_id):
            where = f" in batch {batch!r}" if batch else ""
            raise ContrarioError(
                f"no image is confirmed good{where}: mark good images first (review them, or import an "
                "MVTec folder), or use the training-free detector")
    config = {k: v for k, v in dict(backbone=backbone, input_size=input_size, train_steps=steps).items() if v}
    return {"image_ids": list(image_ids) if image_ids else None, "batch_id": batch_id, "shots": shots,
            "parent_revision_id": parent_revision, "config": config, "activate": bool(activate),
            "score_after": score_after}


def infer_payload(project, batch=None, image_ids=None, revision=None) -> dict:
    with project.session(readonly=True) as s:
        if revision is None:
            revision = active_model_revision(project)
            if revision is None:
                revision = s.scalar(select(func.max(ModelRevision.id)))
            if revision is None:
                raise ContrarioError("the project has no model yet: train one first (contrario train)")
        elif s.get(ModelRevision, revision) is None:
            raise ContrarioError(f"no model revision {revision}")
        batch_id = batch_id_by_name(s, batch) if batch else None
    return {"model_revision_id": revision, "batch_id": batch_id,
            "image_ids": list(image_ids) if image_ids else None}


def create_training_free_revision(project, variant: str = "patch_pca", activate: bool = False) -> int:
    """A model revision of the training-free a contrario detector (thesis ch. 3): nothing to train."""
    from core.models.classic.config import ClassicConfig  # the package __init__ loads torch

    config = ClassicConfig(variant=variant).to_dict()
    with project.session() as s:
        rev = ModelRevision(kind="classic", config=config, backbone=None, duration_s=0.0,
                            name=f"training-free a contrario ({variant})")
        s.add(rev)
        s.flush()
        rev_id = rev.id
    if activate or active_model_revision(project) is None:
        project.set_setting(ACTIVE_MODEL_KEY, rev_id)
    return rev_id
