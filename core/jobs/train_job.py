"""The training job (worker process): freeze the training set, train U-Flow, store a model revision.

Idempotent under requeue: the dataset revision, the model revision, the active-model setting, the
follow-up scoring job and the job row's result are written in one transaction at the end, so a job that
fails or is interrupted leaves nothing behind, and a job run again after that commit (shutdown between the
commit and the job's finish) returns the revision it already made instead of training a second one.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import update

from core.domain.active_model import activate_if_none_chosen
from core.domain.images import ImageRef, by_file_name, readable_images
from core.domain.labels import confirmed_good_images
from core.domain.view_modes import PER_VIEW, STACKED, view_order
from core.errors import ContrarioError
from core.jobs.scorers import load_uflow
from core.jobs.view_training import train_views
from core.store.schema import DatasetRevision, Job, ModelRevision


@dataclass(frozen=True)
class TrainingSet:
    images: list[ImageRef]
    fingerprint: str  # sha256 over the sorted image sha256s

    @property
    def image_ids(self) -> list[int]:
        return [r.id for r in self.images]


def training_images(project, payload: dict) -> TrainingSet:
    """The exact images this job trains on: the chosen ids or the confirmed-good ones, by file name."""
    with project.session(readonly=True) as s:
        if payload.get("image_ids"):
            images = by_file_name(readable_images(s, image_ids=payload["image_ids"]))
        else:
            images = confirmed_good_images(s, payload.get("batch_id"))
    if payload.get("shots"):
        images = images[: payload["shots"]]
    if not images:
        raise ContrarioError("no confirmed-good image to train on")
    return TrainingSet(images, fingerprint_of(images))


def fingerprint_of(images: list[ImageRef]) -> str:
    return hashlib.sha256("\n".join(sorted(r.sha256 or "" for r in images)).encode()).hexdigest()


def _earlier_result(project, job_id: int | None) -> dict | None:
    """The result this job committed in an earlier run that was interrupted before the job finished."""
    if job_id is None:
        return None
    with project.session(readonly=True) as s:
        job = s.get(Job, job_id)
        result = dict(job.result or {}) if job is not None else {}
        rev_id = result.get("model_revision_id")
        if rev_id is not None and s.get(ModelRevision, rev_id) is not None:
            return result
    return None


def run_train(project, payload: dict, progress, cancel, job_id: int | None = None) -> dict:
    from core.models.uflow import UFlowConfig

    earlier = _earlier_result(project, job_id)
    if earlier is not None:
        progress(1.0, f"model revision {earlier['model_revision_id']} was already saved by this job")
        return earlier
    started = time.perf_counter()
    progress(0.0, "freezing the training set")
    frozen = training_images(project, payload)
    mode = payload.get("views")
    parent_id = payload.get("parent_revision_id")
    parent = load_uflow(project, parent_id) if parent_id else None
    config = UFlowConfig(**(payload.get("config") or {}))
    trained = train_views(project, mode, frozen.images, config, lambda f, m: progress(0.02 + 0.95 * f, m), cancel,
                          parent)
    used = {ref.id for ref in trained.used}
    training_set = [ref for ref in frozen.images if ref.id in used] if mode == STACKED else frozen.images
    skipped = trained.skipped
    n_images = len(trained.used)

    progress(0.98, "saving the model")
    sha = project.blobs.put_bytes(trained.weights)  # content-addressed: writing it twice is harmless
    calibration = trained.calibration
    what = {PER_VIEW: f", one model per view ({', '.join(view_order(trained.description))})",
            STACKED: f", views stacked ({' + '.join(view_order(trained.description))})"}.get(mode, "")
    cancel.check()
    with project.session() as s:  # one transaction: all of it or none of it
        dataset = DatasetRevision(image_ids=[ref.id for ref in training_set],
                                  fingerprint=fingerprint_of(training_set) if mode == STACKED else frozen.fingerprint,
                                  description=f"{len(training_set)} confirmed-good images")
        s.add(dataset)
        s.flush()
        rev = ModelRevision(
            kind="uflow", parent_id=parent_id, dataset_revision_id=dataset.id,
            backbone=trained.description.get("backbone"), config=trained.description,
            calibration=calibration or None, training_curve=trained.loss_curve, weights_blob=sha,
            figures={"training": trained.training, "skipped_images": skipped},
            duration_s=time.perf_counter() - started,
            name=f"U-Flow on {n_images} images{what}" + (f" (from #{parent_id})" if parent_id else ""),
        )
        s.add(rev)
        s.flush()
        rev_id = rev.id
        activate_if_none_chosen(s, rev_id, force=bool(payload.get("activate")))
        follow_up = None
        if payload.get("score_after") is not None:
            from core.jobs import queue
            from core.jobs.payloads import infer_payload

            follow_up = queue.submit(project, "infer",
                                     infer_payload(project, revision=rev_id, **payload["score_after"]))
        result = {"model_revision_id": rev_id, "infer_job_id": follow_up, "dataset_revision_id": dataset.id,
                  "n_images": n_images, "skipped_images": skipped, "views": view_order(trained.description),
                  "seconds": round(time.perf_counter() - started, 2),
                  "calibration_ok": calibration.get("ok"), "calibration_warnings": calibration.get("warnings", []),
                  "summary": f"model revision {rev_id} trained on {n_images} images{what} "
                             f"in {time.perf_counter() - started:.0f} s"}
        if job_id is not None:
            s.execute(update(Job).where(Job.id == job_id).values(result=result))
    return result
