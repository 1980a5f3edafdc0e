"""A training job in a real worker process publishes its progress as fields of its row: step, total, loss, ETA."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

from worker_helpers import start_long_training

from core.domain.enums import JobStatus
from core.jobs import queue
from core.jobs.runner import code_root, worker_env


def _wait_for(project, job_id: int, ready, timeout_s: float = 120.0) -> queue.JobView:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        view = queue.get(project, job_id)
        if ready(view):
            return view
        assert view.status in (JobStatus.QUEUED, JobStatus.RUNNING), view.message
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never got there: {queue.get(project, job_id)}")


def test_a_running_training_job_carries_step_total_loss_and_eta(trained_project, tiny_config):
    project = trained_project
    job_id, waiter = start_long_training(project, tiny_config)
    try:
        first = _wait_for(project, job_id, lambda v: v.step is not None and v.eta_s is not None)
        assert first.status == JobStatus.RUNNING
        assert first.total_steps == 100_000 and 1 <= first.step < first.total_steps
        assert math.isfinite(first.loss)
        assert first.eta_s > 0
        later = _wait_for(project, job_id, lambda v: (v.step or 0) > first.step + 5)
        assert later.total_steps == 100_000 and later.eta_s is not None

        out = subprocess.run([sys.executable, "-P", "-m", "core", "jobs", str(project.root), "--json"],
                             capture_output=True, text=True, env=worker_env(), cwd=code_root(), timeout=120)
        assert out.returncode == 0, out.stderr
        row = next(j for j in json.loads(out.stdout) if j["id"] == job_id)
        assert row["total_steps"] == 100_000 and row["step"] >= later.step
        assert isinstance(row["loss"], float) and row["eta_s"] > 0
    finally:
        queue.request_cancel(project, job_id)
        waiter.join(timeout=60)
    ended = queue.get(project, job_id)
    assert ended.status == JobStatus.CANCELLED
    assert ended.eta_s is None and ended.step is not None  # the last step reached stays, the time left goes


def test_a_finished_training_job_keeps_its_last_step_and_loss(trained_project, tiny_config):
    with trained_project.session(readonly=True) as s:
        from core.store.schema import Job

        job = s.query(Job).filter(Job.kind == "train").one()
        assert (job.status, job.step, job.total_steps) == (JobStatus.DONE, tiny_config["train_steps"],
                                                            tiny_config["train_steps"])
        assert math.isfinite(job.loss) and job.eta_s is None
