"""The jobs table as a queue: submit, claim, report progress, finish, cancel, recover after a crash.

Every function takes a Project and runs its own short transaction, so the GUI process, CLI processes and
worker processes can all use one project at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from core.domain.enums import ACTIVE_JOB_STATUSES, FINISHED_JOB_STATUSES
from core.errors import ContrarioError
from core.store.schema import Job, utcnow

JOB_KINDS = ("infer", "train")
ACTIVE = ACTIVE_JOB_STATUSES
FINISHED = FINISHED_JOB_STATUSES


@dataclass(frozen=True)
class JobView:
    """A detached snapshot of one job row, safe to hand to other threads."""

    id: int
    kind: str
    status: str
    progress: float
    message: str | None
    payload: dict
    result: dict | None
    cancel_requested: bool
    pid: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            job.id, job.kind, job.status, job.progress, job.message, dict(job.payload or {}),
            job.result, job.cancel_requested, job.pid, job.created_at, job.started_at, job.finished_at,
        )


def submit(project, kind: str, payload: dict) -> int:
    if kind not in JOB_KINDS:
        raise ContrarioError(f"unknown job kind {kind!r} (expected one of {', '.join(JOB_KINDS)})")
    with project.session() as s:
        job = Job(kind=kind, status="queued", payload=payload, progress=0.0, message="queued")
        s.add(job)
        s.flush()
        return job.id


def get(project, job_id: int) -> JobView:
    with project.session(readonly=True) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise ContrarioError(f"no job {job_id} in this project")
        return JobView.of(job)


def list_jobs(project, statuses: tuple[str, ...] | None = None, limit: int = 200) -> list[JobView]:
    with project.session(readonly=True) as s:
        q = select(Job).order_by(Job.id.desc()).limit(limit)
        if statuses:
            q = q.where(Job.status.in_(statuses))
        return [JobView.of(j) for j in s.scalars(q)]


def claim(project, job_id: int, pid: int | None = None) -> bool:
    """Mark a queued job running for this process; False when someone else got it first."""
    now = utcnow()
    with project.session() as s:
        res = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="running", pid=pid or os.getpid(), started_at=now, heartbeat_at=now,
                    message="starting")
        )
        return res.rowcount == 1


def next_queued(project, kinds: tuple[str, ...] = JOB_KINDS) -> int | None:
    with project.session(readonly=True) as s:
        return s.scalar(
            select(Job.id).where(Job.status == "queued", Job.kind.in_(kinds)).order_by(Job.id).limit(1)
        )


def report(project, job_id: int, progress: float, message: str) -> bool:
    """Store progress; returns True when the user asked to cancel the job."""
    with project.session() as s:
        s.execute(
            update(Job).where(Job.id == job_id, Job.status == "running")
            .values(progress=max(0.0, min(1.0, progress)), message=message, heartbeat_at=utcnow())
        )
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def cancel_requested(project, job_id: int) -> bool:
    with project.session(readonly=True) as s:
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish(project, job_id: int, status: str, message: str, result: dict | None = None) -> None:
    if status not in FINISHED:
        raise ValueError(status)
    with project.session() as s:
        values = dict(status=status, message=message, finished_at=utcnow())
        if result is not None:  # a failure keeps what the job had already committed (see train_job)
            values["result"] = result
        if status == "done":
            values["progress"] = 1.0
        s.execute(update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE)).values(**values))


def requeue(project, job_id: int, message: str = "interrupted by shutdown; resumes at next start") -> None:
    """Put a job that was stopped from outside (application shutdown) back in the queue."""
    with project.session() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE))
                  .values(status="queued", pid=None, started_at=None, message=message))


def request_cancel(project, job_id: int) -> JobView:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops at its next check."""
    with project.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise ContrarioError(f"no job {job_id} in this project")
        if job.status == "queued":
            job.status, job.finished_at, job.message = "cancelled", utcnow(), "cancelled before it started"
        elif job.status == "running":
            job.cancel_requested = True
            job.message = "cancelling..."
        return JobView.of(job)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(project, stale_after_s: float = 120.0) -> list[int]:
    """Requeue running jobs whose worker is gone (application crash, reboot, kill -9 of the parent).

    Inference resumes where it stopped (finished images are kept); training starts again.
    """
    now = datetime.now(timezone.utc)
    requeued = []
    with project.session() as s:
        for job in s.scalars(select(Job).where(Job.status == "running")):
            beat = job.heartbeat_at
            if beat is not None and beat.tzinfo is None:
                beat = beat.replace(tzinfo=timezone.utc)
            stale = beat is None or now - beat > timedelta(seconds=stale_after_s)
            if not _pid_alive(job.pid) or stale:
                job.status, job.pid, job.started_at = "queued", None, None
                job.cancel_requested = False
                job.message = "requeued: its worker process was gone"
                requeued.append(job.id)
    return requeued
