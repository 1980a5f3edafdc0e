"""Many workers on one project: each job runs once, owners are (host, pid), recovery never trusts a foreign pid.

Workers that stand in for separate machines get a compute-slot folder each (a host's workers share its slots).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select, update
from worker_helpers import REPO, scorable_project, start_worker

from core.jobs import queue
from core.store.schema import Image, InferenceResult, Job, as_utc, utcnow


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


def test_two_worker_processes_never_run_the_same_job(new_project, tmp_path):
    n = 12
    project, rev = scorable_project(new_project, tmp_path, n)
    try:
        with project.session(readonly=True) as s:
            image_ids = list(s.scalars(select(Image.id).order_by(Image.id)))
        workers = [start_worker(project.root, slot_dir=tmp_path / f"host{k}") for k in range(2)]  # two machines
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

    project, rev = scorable_project(new_project, tmp_path, 10)
    try:
        payload = {"model_revision_id": rev, "batch_id": None, "image_ids": None}
        workers = [start_worker(project.root, slot_dir=tmp_path / f"host{k}") for k in range(2)]  # two machines
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

    project, rev = scorable_project(new_project, tmp_path, 4)
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


def _results_of(project, image_ids: list[int]) -> dict[int, int]:
    """image id -> result id of the images scored so far among `image_ids`."""
    with project.session(readonly=True) as s:
        return dict(s.execute(select(InferenceResult.image_id, InferenceResult.id)
                              .where(InferenceResult.image_id.in_(image_ids))).all())


def test_a_worker_killed_mid_chunk_on_another_machine_loses_its_chunk_within_the_heartbeat_timeout(new_project,
                                                                                                   tmp_path):
    """Machine A is killed (-9) while scoring a chunk; machine B, seeing A's pid means nothing to it, takes the chunk
    over once A's heartbeat is `--stale-after` seconds old, scores what A had left, and keeps what A had scored."""
    from core.jobs.infer_job import submit_in_chunks

    stale_after, n = 6.0, 40  # one chunk (stored 8 images at a time): B has nothing else to do meanwhile
    project, rev = scorable_project(new_project, tmp_path, n, side=256)
    workers = []
    try:
        parent = submit_in_chunks(project, {"model_revision_id": rev, "batch_id": None, "image_ids": None}, n)
        (first,) = queue.children(project, parent)
        a = start_worker(project.root, host="scorer-a", slot_dir=tmp_path / "a")
        workers.append(a)
        deadline = time.monotonic() + 120
        while not _results_of(project, first.payload["image_ids"]) and time.monotonic() < deadline:
            assert a.poll() is None, a.stderr.read()
            time.sleep(0.02)
        os.killpg(a.pid, signal.SIGKILL)  # mid-chunk: some of its images scored, the rest not
        a.wait()
        killed_at = time.monotonic()
        with project.session(readonly=True) as s:
            beat_age = (utcnow() - as_utc(s.get(Job, first.id).heartbeat_at)).total_seconds()  # A's last sign of life
        kept = _results_of(project, first.payload["image_ids"])
        view = queue.get(project, first.id)
        assert (view.status, view.host, view.pid) == ("running", "scorer-a", a.pid)
        assert 0 < len(kept) < n, "the chunk was not caught half-way"

        b = start_worker(project.root, "--stale-after", str(stale_after), host="scorer-b", slot_dir=tmp_path / "b")
        serving_at = time.monotonic()  # B's start-up (seconds on a loaded machine) is not part of the takeover
        workers.append(b)
        taken_at = None
        while time.monotonic() < serving_at + 120:
            assert b.poll() is None, b.stderr.read()
            view = queue.get(project, first.id)
            if taken_at is None and view.host == "scorer-b":
                taken_at = time.monotonic()
            if queue.get(project, parent).status not in queue.ACTIVE:
                break
            time.sleep(0.1)
        assert taken_at is not None
        # not before A's last heartbeat is `stale_after` old (A's pid is not judged on B), and within B's recovery
        # round (every 10 polls of 0.2 s) of that moment, or of B serving if it came later
        stale_at = killed_at - beat_age + stale_after
        assert stale_at - 0.5 <= taken_at <= max(stale_at, serving_at) + 5.0, (taken_at - stale_at, serving_at - stale_at)
        assert queue.get(project, parent).status == "done"
        assert queue.get(project, first.id).result["scored"] == n - len(kept)
        with project.session(readonly=True) as s:
            per_image = dict(s.execute(select(InferenceResult.image_id, func.count(InferenceResult.id))
                                       .group_by(InferenceResult.image_id)).all())
        assert len(per_image) == n and set(per_image.values()) == {1}  # every image scored exactly once
        now = _results_of(project, first.payload["image_ids"])
        assert all(now[i] == rid for i, rid in kept.items())  # what A scored before it died was kept
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
            w.communicate(timeout=60)
        project.close()


def test_a_heartbeat_timeout_shorter_than_the_heartbeats_is_refused(tmp_path, capsys):
    from core.cli import main

    assert main(["worker", str(tmp_path), "--stale-after", "3"]) == 1
    assert "must exceed the 5 s between heartbeats" in capsys.readouterr().err
