"""One compute slot per host by default: the jobs of a host's workers, of the workbench's runner and of CLI
commands take turns instead of oversubscribing its cores. Real processes, real flocks, real projects."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select
from worker_helpers import REPO, scorable_project, start_worker, worker_env

from core.jobs import queue, slots
from core.store.schema import InferenceResult

HOLDER = """
import sys, time
from core.jobs import slots
slot = slots.try_acquire(sys.argv[1])
print("held" if slot is not None else "busy", flush=True)
time.sleep(600)
"""


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A machine of its own: a fresh slot folder, the default slot count."""
    folder = tmp_path / "slots"
    monkeypatch.setenv(slots.DIR_ENV, str(folder))
    monkeypatch.delenv(slots.SLOTS_ENV, raising=False)
    yield folder
    for slot in list(slots._held):  # a test that failed half-way leaves no slot held in this process
        slot.depth = 1
        slot.release()


def _holder(folder, what: str, count: int | None = None) -> tuple[subprocess.Popen, str]:
    env = worker_env(slot_dir=folder)
    if count is not None:
        env[slots.SLOTS_ENV] = str(count)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, what], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    return proc, proc.stdout.readline().strip()


def test_one_slot_per_host_by_default_and_a_killed_holder_frees_it(host):
    holder, state = _holder(host, "job 7")
    try:
        assert state == "held"
        assert slots.slot_count() == 1 and slots.threads_per_slot() is None  # one job: torch takes every core
        assert slots.try_acquire() is None
        assert slots.holders() == [f"{holder.pid} job 7"]
        said = []
        assert slots.acquire("me", on_wait=said.append, timeout_s=0.5) is None
        assert len(said) == 1 and "waiting for a compute slot on this host (1 slot" in said[0] and str(holder.pid) in said[0]
        holder.kill()  # kill -9: the lock goes with the process
        holder.wait()
        slot = slots.try_acquire("me")
        assert slot is not None and slots.try_acquire("me again") is slot  # the same process holds it once
        slot.release()
        slot.release()
        other, state = _holder(host, "next")
        assert state == "held"  # released for good
        other.kill()
        other.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_a_host_with_two_slots_runs_two_jobs_and_splits_its_cores(host, monkeypatch):
    monkeypatch.setenv(slots.SLOTS_ENV, "2")
    first, state = _holder(host, "a", count=2)
    try:
        assert state == "held"
        mine = slots.try_acquire("b")
        assert mine is not None and mine.index == 1
        third, state = _holder(host, "c", count=2)
        third.kill()
        third.wait()
        assert state == "busy"
        assert slots.threads_per_slot() == max(1, (os.cpu_count() or 1) // 2)
        mine.release()
    finally:
        first.kill()
        first.wait()


def _wait_for(predicate, timeout_s: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_runners_job_waits_for_the_slot_a_worker_holds_and_says_why(new_project, tmp_path, host):
    """The workbench's runner and CLI commands start one worker process per job (WorkerProcess): with the host's
    slot taken, that job stays queued, its message says why, and it runs once the slot is free."""
    from core.jobs.runner import WorkerProcess

    project, rev = scorable_project(new_project, tmp_path, 3)
    try:
        held = slots.try_acquire("a contrario worker")  # this test process stands in for the busy worker
        job_id = queue.submit(project, "infer", {"model_revision_id": rev, "batch_id": None, "image_ids": None})
        events = []
        worker = WorkerProcess(project, job_id, on_event=lambda _job, e: events.append(e), threads=1)
        waiter = threading.Thread(target=worker.wait)
        waiter.start()
        _wait_for(lambda: queue.get(project, job_id).message.startswith("waiting for a compute slot"), what="the note")
        view = queue.get(project, job_id)
        assert view.status == "queued" and f"taken by pid {os.getpid()} a contrario worker" in view.message
        time.sleep(1.0)
        assert queue.get(project, job_id).status == "queued"  # still waiting, not competing
        held.release()
        waiter.join(timeout=180)
        assert not waiter.is_alive()
        view = queue.get(project, job_id)
        assert (view.status, view.result["scored"]) == ("done", 3), view.message
        assert [e["event"] for e in events if "event" in e][:1] == ["waiting"]
        assert any(e.get("message", "").startswith("waiting for a compute slot") for e in events)
    finally:
        project.close()


def test_contrario_worker_claims_nothing_while_its_host_is_busy(new_project, tmp_path, host):
    project, rev = scorable_project(new_project, tmp_path, 2)
    worker = None
    try:
        held = slots.try_acquire("the workbench's job")
        job_id = queue.submit(project, "infer", {"model_revision_id": rev, "batch_id": None, "image_ids": None})
        worker = start_worker(project.root, slot_dir=host)
        line = json.loads(worker.stdout.readline())
        assert line["event"] == "waiting" and "the workbench's job" in line["message"]
        time.sleep(1.0)
        assert queue.get(project, job_id).status == "queued"  # left for a machine with a free slot
        held.release()
        events = []
        while not any(e.get("event") == "done" for e in events):
            events.append(json.loads(worker.stdout.readline()))
        assert [e["event"] for e in events if e.get("event") in ("claimed", "done")] == ["claimed", "done"]
        with project.session(readonly=True) as s:
            assert s.scalar(select(func.count(InferenceResult.id))) == 2
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.communicate(timeout=60)
        project.close()
