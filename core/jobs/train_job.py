"""The training job (worker process): freeze the training set, train U-Flow, store a model revision."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import select

from core.errors import ContrarioError, ImageError
from core.io.image_source import image_file, read_checked_image
from core.jobs.payloads import ACTIVE_MODEL_KEY, confirmed_good_image_ids
from core.jobs.scorers import load_uflow
from core.store.blobs import BadBlobName
from core.store.schema import DatasetRevision, Image, ModelRevision


def freeze_training_set(project, payload: dict) -> tuple[int, list]:
    """Create the dataset revision for this job: the exact images it trains on."""
    with project.session() as s:
        ids = payload.get("image_ids") or confirmed_good_image_ids(s, payload.get("batch_id"))
        rows = s.execute(select(Image.id, Image.original_path, Image.blob, Image.sha256, Image.file_size)
                         .where(Image.id.in_(ids))).all()
        by_id = {r.id: r for r in rows}
        ordered = [by_id[i] for i in ids if i in by_id]
        if payload.get("image_ids"):
            ordered.sort(key=lambda r: (r.original_path.rsplit("/", 1)[-1], r.original_path))
        if payload.get("shots"):
            ordered = ordered[: payload["shots"]]
        if not ordered:
            raise ContrarioError("no confirmed-good image to train on")
        digest = hashlib.sha256("\n".join(sorted(r.sha256 or "" for r in ordered)).encode()).hexdigest()
        rev = DatasetRevision(image_ids=[r.id for r in ordered], fingerprint=digest,
                              description=f"{len(ordered)} confirmed-good images")
        s.add(rev)
        s.flush()
        return rev.id, ordered


def run_train(project, payload: dict, progress, cancel) -> dict:
    from core.models.uflow import UFlowConfig, train

    started = time.perf_counter()
    progress(0.0, "freezing the training set")
    dataset_id, images = freeze_training_set(project, payload)
    decoded, skipped = [], []
    for row in images:
        cancel.check()
        try:  # a file changed since its import is not the image that was frozen: skipped and reported
            path = image_file(project, row.blob, row.original_path)
            decoded.append(read_checked_image(path, row.sha256, row.file_size))
        except (ImageError, BadBlobName) as exc:
            skipped.append({"image_id": row.id, "reason": str(exc)})
    if not decoded:
        raise ContrarioError(f"none of the {len(images)} training images could be read: {skipped[0]['reason']}")

    parent_id = payload.get("parent_revision_id")
    parent = load_uflow(project, parent_id) if parent_id else None
    config = UFlowConfig(**(payload.get("config") or {}))
    model = train(decoded, config, progress=lambda f, m: progress(0.02 + 0.95 * f, m), cancel=cancel,
                  init_from=parent)

    progress(0.98, "saving the model")
    weights, description = model.to_bytes()
    sha = project.blobs.put_bytes(weights)
    training = model.meta.get("training", {})
    with project.session() as s:
        rev = ModelRevision(
            kind="uflow", parent_id=parent_id, dataset_revision_id=dataset_id, backbone=model.config.backbone,
            config=description, calibration=model.meta.get("calibration"),
            training_curve=training.get("loss_curve"), weights_blob=sha,
            figures={"training": {k: v for k, v in training.items() if k != "loss_curve"},
                     "skipped_images": skipped},
            duration_s=time.perf_counter() - started,
            name=f"U-Flow on {len(decoded)} images" + (f" (from #{parent_id})" if parent_id else ""),
        )
        s.add(rev)
        s.flush()
        rev_id = rev.id
    if payload.get("activate") or project.get_setting(ACTIVE_MODEL_KEY, None) is None:
        project.set_setting(ACTIVE_MODEL_KEY, rev_id)
    calibration = model.meta.get("calibration") or {}
    follow_up = None
    if payload.get("score_after") is not None:
        from core.jobs import queue
        from core.jobs.payloads import infer_payload

        follow_up = queue.submit(project, "infer", infer_payload(project, revision=rev_id, **payload["score_after"]))
    return {"model_revision_id": rev_id, "infer_job_id": follow_up, "dataset_revision_id": dataset_id, "n_images": len(decoded),
            "skipped_images": skipped, "seconds": round(time.perf_counter() - started, 2),
            "calibration_ok": calibration.get("ok"), "calibration_warnings": calibration.get("warnings", []),
            "summary": f"model revision {rev_id} trained on {len(decoded)} images "
                       f"in {time.perf_counter() - started:.0f} s"}
