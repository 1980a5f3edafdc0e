"""The jobs table as a queue: submit, claim, report progress, finish, cancel, recover after a crash.

Every function takes a Project and runs its own short transaction, so the GUI process, CLI processes and
worker processes, on one machine or many sharing a database server, can all use one project at once.

A running job belongs to one process, its owner (host name, pid). Claims, heartbeats and the end of a job are
row-level writes (`serialized=False`): on PostgreSQL `claim_next` takes the oldest queued row with
`SELECT ... FOR UPDATE SKIP LOCKED`, so many workers claim at once without waiting for each other; on SQLite
every write is serialized anyway. Heartbeats and the end of a job only touch a row the caller still owns: a
worker judged gone and replaced can never overwrite its successor's job.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from core.domain.enums import ACTIVE_JOB_STATUSES, FINISHED_JOB_STATUSES, JobStatus
from core.errors import ContrarioError
from core.progress import Steps
from core.store.schema import Job, as_utc, utcnow

JOB_KINDS = ("infer", "train")
ACTIVE = ACTIVE_JOB_STATUSES
FINISHED = FINISHED_JOB_STATUSES
STALE_AFTER_S = 120.0  # a running job whose heartbeat is older than this is taken back (heartbeats: every 5 s)
HOST_ENV = "CONTRARIO_HOST"  # the host name jobs record (default: the machine's), e.g. containers sharing one
NO_STEPS = dict(step=None, total_steps=None, loss=None, eta_s=None)  # a job (re)starting has none yet


def this_host() -> str:
    """The name this machine's processes record as the owner of their jobs."""
    return os.environ.get(HOST_ENV, "").strip() or socket.gethostname()


@dataclass(frozen=True)
class Owner:
    """The process running a job."""

    host: str
    pid: int

    @classmethod
    def this_process(cls, pid: int | None = None) -> Owner:
        return cls(this_host(), pid or os.getpid())

    def owns(self):
        """SQL condition: the job row belongs to this process."""
        return (Job.host == self.host) & (Job.pid == self.pid)


@dataclass(frozen=True)
class JobView:
    """A detached snapshot of one job row, safe to hand to other threads.

    `step` of `total_steps` and `loss` are set while a job counts steps (training); `eta_s` is the estimated
    number of seconds left while it runs.
    """

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
    host: str | None = None
    parent_id: int | None = None
    step: int | None = None
    total_steps: int | None = None
    loss: float | None = None
    eta_s: float | None = None

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            job.id, job.kind, job.status, job.progress, job.message, dict(job.payload or {}),
            job.result, job.cancel_requested, job.pid, job.created_at, job.started_at, job.finished_at,
            job.host, job.parent_id, job.step, job.total_steps, job.loss, job.eta_s,
        )


def submit(project, kind: str, payload: dict, parent_id: int | None = None) -> int:
    if kind not in JOB_KINDS:
        raise ContrarioError(f"unknown job kind {kind!r} (expected one of {', '.join(JOB_KINDS)})")
    with project.session() as s:
        job = Job(kind=kind, status=JobStatus.QUEUED, payload=payload, progress=0.0, message="queued", parent_id=parent_id)
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
    owner = Owner.this_process(pid)
    now = utcnow()
    with project.session(serialized=False) as s:
        res = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, pid=owner.pid, host=owner.host, started_at=now, heartbeat_at=now,
                    message="starting", **NO_STEPS)
        )
        return res.rowcount == 1


def claim_next(project, kinds: tuple[str, ...] = JOB_KINDS, owner: Owner | None = None) -> int | None:
    """Claim the oldest queued job for `owner` (default: this process); None when there is none to take.

    Rows another worker is claiming at this instant are skipped, not waited for (PostgreSQL); the claim and
    the check that the job is still queued are one transaction, so no two workers get the same job.
    """
    owner = owner or Owner.this_process()
    now = utcnow()
    with project.session(serialized=False) as s:
        job = s.scalar(
            select(Job).where(Job.status == JobStatus.QUEUED, Job.kind.in_(kinds)).order_by(Job.id).limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        job.status, job.pid, job.host = JobStatus.RUNNING, owner.pid, owner.host
        job.started_at = job.heartbeat_at = now
        job.message = "starting"
        _clear_steps(job)
        return job.id


def _clear_steps(job: Job) -> None:
    for field, value in NO_STEPS.items():
        setattr(job, field, value)


def next_queued(project, kinds: tuple[str, ...] = JOB_KINDS) -> int | None:
    with project.session(readonly=True) as s:
        return s.scalar(
            select(Job.id).where(Job.status == JobStatus.QUEUED, Job.kind.in_(kinds)).order_by(Job.id).limit(1)
        )


def report(project, job_id: int, progress: float, message: str, owner: Owner | None = None,
           steps: Steps | None = None, eta_s: float | None = None) -> bool:
    """Store progress (with the step counts and the time left, when known) and beat the heart; True when the
    job should stop: the user asked to cancel it, or (with `owner`) it is no longer this owner's (judged gone
    and taken back by recovery)."""
    values = dict(progress=max(0.0, min(1.0, progress)), message=message, heartbeat_at=utcnow(), eta_s=eta_s)
    if steps is not None:
        values.update(step=steps.step, total_steps=steps.total, loss=steps.loss)
    with project.session(serialized=False) as s:
        where = [Job.id == job_id, Job.status == JobStatus.RUNNING] + ([owner.owns()] if owner else [])
        res = s.execute(update(Job).where(*where).values(**values))
        if owner is not None and res.rowcount == 0:
            return True
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def note_waiting(project, job_id: int, message: str) -> None:
    """Say why a queued job has not started yet (its worker waits for a compute slot of its host)."""
    with project.session(serialized=False) as s:
        s.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED).values(message=message))


def cancel_requested(project, job_id: int) -> bool:
    with project.session(readonly=True) as s:
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def finish(project, job_id: int, status: str, message: str, result: dict | None = None,
           owner: Owner | None = None) -> bool:
    """End an active job (with `owner`: only while that process owns it); False when nothing was changed."""
    if status not in FINISHED:
        raise ValueError(status)
    with project.session(serialized=False) as s:
        values = dict(status=status, message=message, finished_at=utcnow(), eta_s=None)
        if result is not None:  # a failure keeps what the job had already committed (see train_job)
            values["result"] = result
        if status == JobStatus.DONE:
            values["progress"] = 1.0
        where = [Job.id == job_id, Job.status.in_(ACTIVE)] + ([owner.owns()] if owner else [])
        changed = s.execute(update(Job).where(*where).values(**values)).rowcount == 1
        parent_id = s.scalar(select(Job.parent_id).where(Job.id == job_id)) if changed else None
    if parent_id is not None:
        _roll_up(project, parent_id)
    return changed


def submit_chunks(project, kind: str, payload: dict, chunks: list[dict], message: str) -> int:
    """A parent job of `kind` whose work is the child jobs `payload | chunk`, which any worker may take.

    The parent is never claimed: it shows the children's progress and ends with the last of them (done when
    every child is done), with their results added up (see `_roll_up`). Cancelling it cancels them.
    """
    with project.session() as s:
        parent = Job(kind=kind, status=JobStatus.RUNNING, payload=dict(payload, chunks=len(chunks)), progress=0.0,
                     message=message, started_at=utcnow(), heartbeat_at=utcnow())
        s.add(parent)
        s.flush()
        s.add_all([Job(kind=kind, status=JobStatus.QUEUED, payload=dict(payload, **chunk), progress=0.0, message="queued",
                       parent_id=parent.id) for chunk in chunks])
        return parent.id


def children(project, parent_id: int) -> list[JobView]:
    with project.session(readonly=True) as s:
        return [JobView.of(j) for j in s.scalars(select(Job).where(Job.parent_id == parent_id).order_by(Job.id))]


def _sum_results(results: list[dict]) -> dict:
    """Numbers added up, lists joined; the rest (summaries) left out."""
    out: dict = {}
    for r in results:
        for key, value in r.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, list)):
                continue
            out[key] = out.get(key, [] if isinstance(value, list) else 0) + value
    return out


def _roll_up(project, parent_id: int) -> None:
    """Progress of a parent job from its children; its end once none of them is active."""
    with project.session(serialized=False) as s:
        parent = s.scalar(select(Job).where(Job.id == parent_id).with_for_update())
        if parent is None or parent.status not in ACTIVE:
            return
        kids = list(s.scalars(select(Job).where(Job.parent_id == parent_id)))
        statuses = [k.status for k in kids]
        parent.progress = sum(1.0 if k.status in FINISHED else k.progress for k in kids) / max(1, len(kids))
        parent.heartbeat_at = utcnow()
        done = statuses.count(JobStatus.DONE)
        if any(st in ACTIVE for st in statuses):
            parent.message = f"{done}/{len(kids)} chunks done"
            return
        parent.result = _sum_results([k.result or {} for k in kids if k.status == JobStatus.DONE])
        parent.finished_at = utcnow()
        if done == len(kids):
            parent.status, parent.progress = JobStatus.DONE, 1.0
            parent.message = f"{len(kids)} chunks done" + (
                f", {parent.result['scored']} images scored" if "scored" in parent.result else "")
        else:
            failed = [k for k in kids if k.status == JobStatus.FAILED]
            parent.status = JobStatus.FAILED if failed else JobStatus.CANCELLED
            parent.message = (f"{len(failed)} of {len(kids)} chunks failed (first: {failed[0].message})" if failed
                              else f"cancelled after {done}/{len(kids)} chunks")


def requeue(project, job_id: int, message: str = "interrupted by shutdown; resumes at next start",
            owner: Owner | None = None) -> None:
    """Put a job that was stopped from outside (application shutdown) back in the queue."""
    with project.session(serialized=False) as s:
        where = [Job.id == job_id, Job.status.in_(ACTIVE)] + ([owner.owns()] if owner else [])
        s.execute(update(Job).where(*where)
                  .values(status=JobStatus.QUEUED, pid=None, host=None, started_at=None, message=message, **NO_STEPS))


def request_cancel(project, job_id: int) -> JobView:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops at its next check."""
    with project.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise ContrarioError(f"no job {job_id} in this project")
        kids = list(s.scalars(select(Job).where(Job.parent_id == job_id, Job.status.in_(ACTIVE))))
        for kid in kids:
            _cancel_one(kid)
        if kids:  # the parent ends with its last running child (or now, if none was running)
            job.cancel_requested = True
            job.message = "cancelling..."
        else:
            _cancel_one(job)
        view = JobView.of(job)
    if kids:
        _roll_up(project, job_id)
        view = get(project, job_id)
    return view


def _cancel_one(job: Job) -> None:
    if job.status == JobStatus.QUEUED:
        job.status, job.finished_at, job.message = JobStatus.CANCELLED, utcnow(), "cancelled before it started"
    elif job.status == JobStatus.RUNNING:
        job.cancel_requested = True
        job.message = "cancelling..."


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


def recover_interrupted(project, stale_after_s: float = STALE_AFTER_S) -> list[int]:
    """Requeue running jobs whose worker is gone (application crash, reboot, kill -9, a machine lost).

    A worker on this host is gone when its pid is no longer alive or its heartbeat is stale; a worker on
    another host is judged by its heartbeat alone (its pid means nothing here). Inference resumes where it
    stopped (finished images are kept); training starts again.
    """
    here = this_host()
    now = datetime.now(timezone.utc)
    requeued = []
    with project.session(serialized=False) as s:
        parents = select(Job.parent_id).where(Job.parent_id.is_not(None))  # judged by their children instead
        running = (select(Job).where(Job.status == JobStatus.RUNNING, Job.id.not_in(parents)).order_by(Job.id)
                   .with_for_update(skip_locked=True))
        for job in s.scalars(running):
            beat = as_utc(job.heartbeat_at)
            stale = beat is None or now - beat > timedelta(seconds=stale_after_s)
            local = job.host is None or job.host == here  # rows from before hosts were recorded: local
            if stale or (local and not _pid_alive(job.pid)):
                where = "" if local else f" on {job.host}"
                job.status, job.pid, job.host, job.started_at = JobStatus.QUEUED, None, None, None
                job.cancel_requested = False
                job.message = f"requeued: its worker process{where} was gone"
                _clear_steps(job)
                requeued.append(job.id)
    return requeued
