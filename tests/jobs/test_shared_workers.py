"""Many workers on one project: each job runs once, owners are (host, pid), recovery never trusts a foreign pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import func, select, update

from core.jobs import queue
from core.store.schema import Image, InferenceResult, Job, utcnow

REPO = Path(__file__).resolve().parents[2]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claim_next_takes_each_job_once_in_order(new_project):
    with new_project() as p:
        ids = [queue.submit(p, "infer", {"n": k}) for k in range(3)]
        me = queue.Owner.this_process()
        assert [queue.claim_next(p) for _ in range(4)] == ids + [None]
        for job_id in ids:
            view = queue.get(p, job_id)
            assert (view.status, view.host, view.pid) == ("running", me.host, me.pid)


def test_only_the_owner_beats_the_heart_and_ends_the_job(new_project):
    with new_project() as p:
        job_id = queue.submit(p, "infer", {})
        assert queue.claim_next(p) == job_id
        me, impostor = queue.Owner.this_process(), queue.Owner("other-machine", os.getpid())
        assert queue.report(p, job_id, 0.5, "half", owner=impostor) is True  # not its job: it must stop
        assert queue.finish(p, job_id, "failed", "impostor", owner=impostor) is False
        assert queue.get(p, job_id).status == "running" and queue.get(p, job_id).progress == 0.0
        assert queue.report(p, job_id, 0.5, "half", owner=me) is False
        assert queue.finish(p, job_id, "done", "ok", owner=me) is True
        assert queue.get(p, job_id).status == "done"


def test_recovery_judges_a_foreign_host_by_its_heartbeat_only(new_project):
    with new_project() as p:
        dead = _dead_pid()
        foreign_fresh, foreign_stale, local_dead = (queue.submit(p, "infer", {}) for _ in range(3))
        now = utcnow()
        with p.session() as s:
            for job_id, host, beat in ((foreign_fresh, "scorer-2", now), (foreign_stale, "scorer-2", now - timedelta(hours=1)),
                                       (local_dead, queue.Owner.this_process().host, now)):
                s.execute(update(Job).where(Job.id == job_id).values(
                    status="running", host=host, pid=dead, heartbeat_at=beat, started_at=now))
        assert sorted(queue.recover_interrupted(p)) == [foreign_stale, local_dead]
        assert queue.get(p, foreign_fresh).status == "running"  # pid `dead` means nothing on scorer-2
        stale = queue.get(p, foreign_stale)
        assert (stale.status, stale.host, stale.pid) == ("queued", None, None) and "scorer-2" in stale.message


def _scorable_project(new_project, tmp_path: Path, n: int):
    """A project with `n` generated tiles in batch "lot" and a training-free revision to score them: (project, rev)."""
    from core.io.importer import import_paths
    from core.models.revisions import create_training_free_revision

    folder = tmp_path / "tiles"
    folder.mkdir()
    rng = np.random.default_rng(11)
    for k in range(n):
        PILImage.fromarray(rng.integers(80, 120, (64, 64), dtype=np.uint8)).save(folder / f"tile_{k:02d}.png")
    project = new_project(tmp_path / "shared")
    try:
        import_paths(project, [str(folder)], "lot")
        return project, create_training_free_revision(project, "gabor")
    except BaseException:
        project.close()
        raise


def _start_worker(project_root: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-P", "-m", "core", "worker", str(project_root), "--poll", "0.2",
                             "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO, start_new_session=True)
    first = json.loads(proc.stdout.readline() or "{}")
    assert first.get("event") == "serving", proc.stderr.read()
    return proc


def test_two_worker_processes_never_run_the_same_job(new_project, tmp_path):
    n = 12
    project, rev = _scorable_project(new_project, tmp_path, n)
    try:
        with project.session(readonly=True) as s:
            image_ids = list(s.scalars(select(Image.id).order_by(Image.id)))
        workers = [_start_worker(project.root) for _ in range(2)]
        try:
            jobs = [queue.submit(project, "infer", {"model_revision_id": rev, "batch_id": None, "image_ids": [i]})
                    for i in image_ids]
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                with project.session(readonly=True) as s:
                    left = s.scalar(select(func.count(Job.id)).where(Job.status.in_(queue.ACTIVE)))
                if not left:
                    break
                assert all(w.poll() is None for w in workers), [w.stderr.read() for w in workers]
                time.sleep(0.3)
        finally:
            for w in workers:
                if w.poll() is None:
                    os.killpg(w.pid, signal.SIGTERM)
            outputs = [w.communicate(timeout=60) for w in workers]
        ran = []
        for (out, err), w in zip(outputs, workers):
            events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            assert events[-1]["event"] == "stopped", err
            ran.append([e["job"] for e in events if e.get("event") == "done"])
        assert sorted(ran[0] + ran[1]) == jobs  # every job once, none twice
        assert not set(ran[0]) & set(ran[1])
        with project.session(readonly=True) as s:
            views = {j.id: j for j in map(queue.JobView.of, s.scalars(select(Job).where(Job.id.in_(jobs))))}
            per_image = dict(s.execute(select(InferenceResult.image_id, func.count(InferenceResult.id))
                                       .group_by(InferenceResult.image_id)).all())
        assert all(v.status == "done" and v.result["scored"] == 1 for v in views.values())
        pids = [w.pid for w in workers]
        for k, job_ids in enumerate(ran):
            assert {views[j].pid for j in job_ids} <= {pids[k]}  # the row names the process that ran it
        assert per_image == {i: 1 for i in image_ids}
    finally:
        project.close()


def test_a_chunked_inference_is_shared_by_two_workers_and_ends_with_its_last_chunk(new_project, tmp_path):
    from core.jobs.infer_job import submit_in_chunks

    project, rev = _scorable_project(new_project, tmp_path, 10)
    try:
        payload = {"model_revision_id": rev, "batch_id": None, "image_ids": None}
        workers = [_start_worker(project.root) for _ in range(2)]
        try:
            parent = submit_in_chunks(project, payload, chunk_images=3)
            deadline = time.monotonic() + 300
            while queue.get(project, parent).status in queue.ACTIVE and time.monotonic() < deadline:
                assert all(w.poll() is None for w in workers), [w.stderr.read() for w in workers]
                time.sleep(0.3)
        finally:
            for w in workers:
                if w.poll() is None:
                    os.killpg(w.pid, signal.SIGTERM)
            for w in workers:
                w.communicate(timeout=60)
        view = queue.get(project, parent)
        chunks = queue.children(project, parent)
        assert [len(c.payload["image_ids"]) for c in chunks] == [3, 3, 3, 1]
        assert all(c.status == "done" for c in chunks)
        assert (view.status, view.progress, view.result["scored"]) == ("done", 1.0, 10), view.message
        with project.session(readonly=True) as s:
            assert s.scalar(select(func.count(InferenceResult.id))) == 10
        assert submit_in_chunks(project, payload, chunk_images=3) is None  # nothing left to score
    finally:
        project.close()


def test_cancelling_a_chunked_job_cancels_its_chunks(new_project):
    with new_project() as p:
        parent = queue.submit_chunks(p, "infer", {"model_revision_id": 1}, [{"image_ids": [k]} for k in range(3)],
                                     "3 chunks")
        assert queue.claim_next(p) == queue.children(p, parent)[0].id  # one chunk already running
        assert queue.recover_interrupted(p) == []  # the parent has no process of its own to judge
        view = queue.request_cancel(p, parent)
        kids = queue.children(p, parent)
        assert [k.status for k in kids] == ["running", "cancelled", "cancelled"] and kids[0].cancel_requested
        assert view.status == "running"
        assert queue.finish(p, kids[0].id, "cancelled", "cancelled by the user", owner=queue.Owner.this_process())
        assert queue.get(p, parent).status == "cancelled"


CLAIMER = """
import sys, time
from core.jobs import queue
from core.store.project import Project
p = Project.open(sys.argv[1])
print(queue.claim_next(p), flush=True)
time.sleep(600)
"""


def test_a_chunk_of_a_killed_worker_is_taken_over_by_another(new_project, tmp_path):
    from core.jobs.infer_job import submit_in_chunks

    project, rev = _scorable_project(new_project, tmp_path, 4)
    try:
        parent = submit_in_chunks(project, {"model_revision_id": rev, "batch_id": None, "image_ids": None}, 2)
        env = dict(os.environ, PYTHONPATH=str(REPO))
        doomed = subprocess.Popen([sys.executable, "-c", CLAIMER, str(project.root)], stdout=subprocess.PIPE,
                                  text=True, env=env, cwd=REPO)
        taken = int(doomed.stdout.readline())
        assert queue.get(project, taken).pid == doomed.pid
        doomed.kill()  # kill -9 with the chunk in hand
        doomed.wait()
        out = subprocess.run([sys.executable, "-P", "-m", "core", "worker", str(project.root), "--until-idle"],
                             capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
        assert out.returncode == 0, out.stderr
        done = [json.loads(line)["job"] for line in out.stdout.splitlines() if '"done"' in line]
        assert taken in done and len(done) == 2
        assert queue.get(project, parent).status == "done"
        with project.session(readonly=True) as s:
            assert s.scalar(select(func.count(InferenceResult.id))) == 4
    finally:
        project.close()
