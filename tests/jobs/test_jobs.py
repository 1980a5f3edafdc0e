from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
from sqlalchemy import func, select
from worker_helpers import start_long_training

from core.jobs import queue
from core.jobs.payloads import infer_payload
from core.jobs.runner import JobRunner, WorkerProcess, run_in_worker
from core.store.schema import Image, InferenceResult, Job, ModelRevision


def _result_count(project) -> int:
    with project.session() as s:
        return s.scalar(select(func.count()).select_from(InferenceResult))


def n_images(project) -> int:
    with project.session() as s:
        return s.scalar(select(func.count()).select_from(Image))


def test_training_stores_a_model_revision_with_its_lineage(trained_project):
    with trained_project.session() as s:
        rev = s.scalars(select(ModelRevision)).one()
        assert rev.kind == "uflow" and rev.weights_blob and rev.dataset_revision_id
        assert rev.calibration and "scales" in rev.calibration
        assert len(rev.training_curve) >= 1
    assert trained_project.blobs.exists(rev.weights_blob)
    assert trained_project.get_setting("active_model_revision") == rev.id


def test_inference_stores_maps_and_regions_and_is_incremental(trained_project):
    project = trained_project
    job_id = queue.submit(project, "infer", infer_payload(project))
    view = run_in_worker(project, job_id, threads=1)
    assert view.status == "done", view.message
    assert view.result["scored"] == n_images(project)
    with project.session() as s:
        results = s.scalars(select(InferenceResult)).all()
        assert len(results) == n_images(project)
        for r in results:
            amap = project.blobs.get_array(r.map_blob)
            labels = project.blobs.get_array(r.labels_blob)
            assert amap.dtype == np.uint8 and amap.shape == tuple(r.map_info["shape"]) == labels.shape
            assert 0.0 <= r.score <= 1.0
            stored = {reg.label for reg in r.regions}
            assert stored <= set(np.unique(labels).tolist()) - {0}
            assert all(reg.log10_nfa <= 0 for reg in r.regions)
    again = run_in_worker(project, queue.submit(project, "infer", infer_payload(project)), threads=1)
    assert again.status == "done" and again.result["scored"] == 0
    assert _result_count(project) == n_images(project)


def test_sigkill_mid_inference_keeps_finished_images_and_resume_scores_the_rest(trained_project):
    project = trained_project
    job_id = queue.submit(project, "infer", infer_payload(project))
    worker = WorkerProcess(project, job_id, threads=1)
    waiter = threading.Thread(target=worker.wait)
    waiter.start()
    deadline = time.monotonic() + 120
    while _result_count(project) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(worker.proc.pid, signal.SIGKILL)
    waiter.join(timeout=30)
    view = queue.get(project, job_id)
    assert view.status == "failed" and "SIGKILL" in view.message
    kept = _result_count(project)
    assert 0 < kept < n_images(project)
    with project.session() as s:  # every stored result is whole: its blobs exist
        for r in s.scalars(select(InferenceResult)):
            assert project.blobs.exists(r.map_blob) and project.blobs.exists(r.labels_blob)
    resumed = run_in_worker(project, queue.submit(project, "infer", infer_payload(project)), threads=1)
    assert resumed.status == "done" and resumed.result["scored"] == n_images(project) - kept
    assert _result_count(project) == n_images(project)


def test_a_corrupt_image_fails_alone(trained_project):
    project = trained_project
    with project.session() as s:
        victim = s.scalars(select(Image).order_by(Image.id.desc())).first()
        victim_id, path = victim.id, victim.original_path
    with open(path, "wb") as fh:
        fh.write(b"\xff\xd8\xff\xe0 this is not a jpeg any more")
    view = run_in_worker(project, queue.submit(project, "infer", infer_payload(project)), threads=1)
    assert view.status == "done"
    assert [f["image_id"] for f in view.result["failed"]] == [victim_id]
    assert path in view.result["failed"][0]["reason"]
    assert view.result["scored"] == n_images(project) - 1


def test_cancel_during_training_stops_within_two_seconds(trained_project, tiny_config):
    project = trained_project
    job_id, waiter = start_long_training(project, tiny_config)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if queue.get(project, job_id).step is not None:  # the training loop is running
            break
        time.sleep(0.05)
    assert queue.get(project, job_id).step is not None, "training never reported a step"
    asked = time.monotonic()
    queue.request_cancel(project, job_id)
    while queue.get(project, job_id).status == "running" and time.monotonic() - asked < 30:
        time.sleep(0.02)
    elapsed = time.monotonic() - asked
    waiter.join(timeout=30)
    assert queue.get(project, job_id).status == "cancelled"
    assert elapsed < 2.0, f"cancel took {elapsed:.2f} s"
    with project.session() as s:
        assert s.scalar(select(func.count()).select_from(ModelRevision)) == 1  # nothing half-made stored


def test_queued_jobs_survive_a_restart_and_run(trained_project):
    project = trained_project
    job_id = queue.submit(project, "infer", infer_payload(project, batch="test"))
    # A job left "running" by a dead process (application crash) is requeued and resumed.
    with project.session() as s:
        stale = Job(kind="infer", status="running", pid=2 ** 22 + 12345, payload=infer_payload(project, batch="train"))
        s.add(stale)
        s.flush()
        stale_id = stale.id
    runner = JobRunner(project, poll_s=0.2, threads=1)
    runner.start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if all(queue.get(project, j).status == "done" for j in (job_id, stale_id)):
            break
        time.sleep(0.2)
    runner.shutdown()
    assert queue.get(project, job_id).status == "done"
    assert queue.get(project, stale_id).status == "done"
    assert _result_count(project) == n_images(project)


def test_two_cli_processes_on_one_project_do_not_corrupt_it(trained_project):
    project = trained_project
    root = str(project.root)
    env = dict(os.environ, CONTRARIO_THREADS="1")
    cmds = [[sys.executable, "-m", "core", "infer", root, "--batch", "test", "--json", "--threads", "1"],
            [sys.executable, "-m", "core", "infer", root, "--batch", "train", "--json", "--threads", "1"]]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for c in cmds]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    assert _result_count(project) == n_images(project)
    con = sqlite3.connect(os.path.join(root, "project.sqlite"))
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


def test_cli_train_without_good_images_says_what_to_do(tmp_path):
    from core.store.project import Project

    Project.create(tmp_path / "empty").close()
    proc = subprocess.run([sys.executable, "-m", "core", "train", str(tmp_path / "empty")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "no image is confirmed good" in proc.stderr


def test_training_free_revision_scores_through_the_same_job(trained_project):
    from core.models.revisions import create_training_free_revision

    project = trained_project
    rev = create_training_free_revision(project, "gabor")
    with project.session(readonly=True) as s:
        ids = list(s.scalars(select(Image.id).order_by(Image.id).limit(2)))
    view = run_in_worker(project, queue.submit(project, "infer", infer_payload(project, revision=rev, image_ids=ids)),
                         threads=1)
    assert view.status == "done", view.message
    assert view.result["scored"] == 2
    with project.session(readonly=True) as s:
        results = s.scalars(select(InferenceResult).where(InferenceResult.model_revision_id == rev)).all()
        assert len(results) == 2
        for r in results:
            amap = project.blobs.get_array(r.map_blob)
            assert amap.shape == project.blobs.get_array(r.labels_blob).shape
            assert all(reg.log10_nfa <= 0 for reg in r.regions)
