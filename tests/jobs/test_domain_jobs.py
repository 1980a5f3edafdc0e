"""Jobs and the domain rules: copied images, requeued and failed training, shutdown signals."""

from __future__ import annotations

import shutil
import signal

import pytest
from sqlalchemy import func, select, update

from core.errors import ImageError
from core.io.images import read_image
from core.jobs import queue
from core.jobs.payloads import infer_payload, train_payload
from core.jobs.runner import run_in_worker
from core.jobs.worker import WorkerInterrupted
from core.store.schema import Batch, DatasetRevision, Image, InferenceResult, Item, Job, ModelRevision


def _count(project, table) -> int:
    with project.session(readonly=True) as s:
        return s.scalar(select(func.count()).select_from(table))


def test_a_copy_project_whose_originals_moved_trains_and_scores(tmp_path, mtd_root, tiny_config):
    from core.io.importer import import_paths
    from core.labels.revisions import add_annotation
    from core.store.project import Project

    originals = tmp_path / "camera"
    originals.mkdir()
    goods = sorted((mtd_root / "train" / "good").glob("*.jpg"))[:3]
    tests = sorted((mtd_root / "test" / "blowhole").glob("*.jpg"))[:2]
    for p in goods + tests:
        shutil.copy(p, originals / p.name)
    with Project.create(tmp_path / "project") as project:
        import_paths(project, [str(originals / p.name) for p in goods], "train", copy=True)
        import_paths(project, [str(originals / p.name) for p in tests], "test", copy=True)
        with project.session() as s:
            train = select(Image.id).join(Item).join(Batch).where(Batch.name == "train")
            for image_id in s.scalars(train):
                add_annotation(s, image_id, "alice", verdict="good")
        shutil.move(originals, tmp_path / "moved-away")  # the camera share is gone; the project has copies
        payload = train_payload(project, batch="train")
        payload["config"] = dict(tiny_config)
        trained = run_in_worker(project, queue.submit(project, "train", payload), threads=1)
        assert trained.status == "done", trained.message
        assert trained.result["n_images"] == 3 and trained.result["skipped_images"] == []
        scored = run_in_worker(project, queue.submit(project, "infer", infer_payload(project)), threads=1)
        assert scored.status == "done", scored.message
        assert scored.result["failed"] == [] and scored.result["scored"] == 5
        assert _count(project, InferenceResult) == 5


def test_a_requeued_training_job_does_not_write_a_second_revision(trained_project):
    project = trained_project
    with project.session() as s:
        job = s.scalars(select(Job).where(Job.kind == "train")).one()
        job_id, first = job.id, dict(job.result)
        # Shutdown after the revision was committed but before the job was marked done: requeued.
        s.execute(update(Job).where(Job.id == job_id).values(status="queued", pid=None, started_at=None))
    revisions, datasets = _count(project, ModelRevision), _count(project, DatasetRevision)
    again = run_in_worker(project, job_id, threads=1)
    assert again.status == "done", again.message
    assert again.result["model_revision_id"] == first["model_revision_id"]
    assert (_count(project, ModelRevision), _count(project, DatasetRevision)) == (revisions, datasets)


def test_a_failed_training_job_leaves_no_dataset_revision(trained_project, tiny_config):
    project = trained_project
    with project.session(readonly=True) as s:
        paths = list(s.scalars(select(Image.original_path).where(Image.original_path.contains("/train/"))))
    for path in paths:
        with open(path, "wb") as fh:
            fh.write(b"not an image any more")
    revisions, datasets = _count(project, ModelRevision), _count(project, DatasetRevision)
    payload = train_payload(project, batch="train")
    payload["config"] = dict(tiny_config)
    view = run_in_worker(project, queue.submit(project, "train", payload), threads=1)
    assert view.status == "failed" and "could be read" in view.message
    assert (_count(project, ModelRevision), _count(project, DatasetRevision)) == (revisions, datasets)


def test_worker_interrupted_is_not_swallowed_by_except_exception(tmp_path):
    import numpy as np
    from PIL import Image as PILImage

    assert issubclass(WorkerInterrupted, BaseException) and not issubclass(WorkerInterrupted, Exception)
    path = tmp_path / "big.png"
    PILImage.fromarray(np.random.default_rng(0).integers(0, 255, (1500, 1500, 3), dtype=np.uint8)).save(path)

    def interrupt(signum, frame):
        raise WorkerInterrupted("signal")

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(WorkerInterrupted):  # read_image turns any Exception into ImageError
            for _ in range(1000):
                try:
                    read_image(path)
                except ImageError as exc:
                    pytest.fail(f"the shutdown became an unreadable image: {exc}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_flips_are_checked_by_default_forced_or_off_on_request(trained_project):
    from core.errors import ContrarioError

    configs = {flips: train_payload(trained_project, batch="train", flips=flips)["config"]
               for flips in ("auto", "on", "off", True, False)}
    assert [configs[f].get("image_flips") for f in ("auto", "on", "off", True, False)] == [None, 3, 0, 3, None]
    with pytest.raises(ContrarioError, match="flips must be one of auto, on, off"):
        train_payload(trained_project, batch="train", flips="sometimes")


def test_the_scales_chosen_in_training_or_on_request(trained_project):
    assert "scale_context" not in train_payload(trained_project, batch="train")["config"]
    assert train_payload(trained_project, batch="train", scales="independent")["config"]["scale_context"] is False
    assert train_payload(trained_project, batch="train", scales="u-shape")["config"]["scale_context"] is True
    from core.errors import ContrarioError

    with trained_project.session() as s:
        u_shaped = ModelRevision(kind="uflow", name="u", config={"config": {}})
        per_scale = ModelRevision(kind="uflow", name="per scale", config={"config": {"scale_context": False}})
        s.add_all([u_shaped, per_scale])
        s.flush()
        ids = u_shaped.id, per_scale.id
    with pytest.raises(ContrarioError, match="has the U-shaped flow"):
        train_payload(trained_project, batch="train", parent_revision=ids[0], scales="independent")
    with pytest.raises(ContrarioError, match="has one flow per scale"):
        train_payload(trained_project, batch="train", parent_revision=ids[1], scales="u-shape")
    assert train_payload(trained_project, batch="train", parent_revision=ids[1],
                         scales="independent")["parent_revision_id"] == ids[1]
    with pytest.raises(ContrarioError, match="scales must be one of auto, u-shape, independent"):
        train_payload(trained_project, batch="train", scales="sideways")


def test_eval_and_train_share_the_training_options():
    from core.cli import build_parser
    from core.jobs.payloads import training_overrides

    parser = build_parser()
    for argv in (["eval", "x", "--json", "o.json"], ["train", "p"]):
        args = parser.parse_args(argv)
        assert training_overrides(args.flips, args.keep_exposure, args.scales) == {}
        args = parser.parse_args(argv + ["--no-flips", "--keep-exposure", "--independent-scales"])
        assert training_overrides(args.flips, args.keep_exposure, args.scales) == \
            {"image_flips": 0, "exposure_gain": False, "scale_context": False}
        assert training_overrides(scales=parser.parse_args(argv + ["--u-shape"]).scales) == {"scale_context": True}
