"""The worker process: runs jobs from the jobs table.

Started as `python -m core.jobs.worker PROJECT JOB_ID` (or the frozen app's `_worker` command) it runs that one
job and exits; `contrario worker PROJECT` (`serve`) takes queued jobs one after the other, on any machine that
sees the project's database and blob folder. Torch is imported here, never in the GUI process. Progress goes to
the jobs table (throttled, with the heartbeat) and, as JSON lines, to stdout for the process that started the
worker. Cancellation is read from the table. Either way a job runs only in one of its host's compute slots
(core.jobs.slots): the worker takes one before it claims the job.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback

from core.domain.enums import JobStatus
from core.errors import ContrarioError, JobCancelled
from core.jobs import queue, slots
from core.progress import CancelToken, Steps, collecting_steps, eta_seconds


class WorkerInterrupted(BaseException):
    """SIGTERM/SIGINT from the parent: the application is shutting down.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way (a decoder that turns
    any error into "unreadable image", a heartbeat) swallows the shutdown.
    """


class TableCancelToken(CancelToken):
    """Cancelled when the job row says so; polled at most every `poll_s` seconds."""

    def __init__(self, project, job_id: int, poll_s: float = 0.25) -> None:
        super().__init__()
        self._project, self._job_id, self._poll_s = project, job_id, poll_s
        self._last = 0.0

    def is_cancelled(self) -> bool:
        if super().is_cancelled():
            return True
        now = time.monotonic()
        if now - self._last >= self._poll_s:
            self._last = now
            if queue.cancel_requested(self._project, self._job_id):
                self.cancel()
        return super().is_cancelled()


class Reporter:
    """Progress callback: prints every call as a JSON line, writes the table at most every `every_s`, with
    the step counts of `report_steps` (`on_steps`) and the time left at the pace since the reporter started."""

    def __init__(self, project, job_id: int, cancel: TableCancelToken, every_s: float = 0.3,
                 owner: queue.Owner | None = None) -> None:
        self.project, self.job_id, self.cancel, self.every_s = project, job_id, cancel, every_s
        self.owner = owner
        self._last = 0.0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.fraction, self.message = 0.0, "starting"
        self.steps: Steps | None = None

    def on_steps(self, steps: Steps) -> None:
        self.steps = steps

    def __call__(self, fraction: float, message: str) -> None:
        self.fraction, self.message = fraction, message
        event = {"progress": round(float(fraction), 4), "message": message}
        if self.steps is not None:
            event.update(step=self.steps.step, total_steps=self.steps.total, loss=self.steps.loss)
        emit(event)
        now = time.monotonic()
        if now - self._last >= self.every_s or fraction >= 1.0:
            self._last = now
            self.flush()

    def flush(self) -> None:
        with self._lock:
            eta = eta_seconds(self.fraction, time.monotonic() - self._started)
            if queue.report(self.project, self.job_id, self.fraction, self.message, self.owner, self.steps, eta):
                self.cancel.cancel()


def emit(event: dict) -> None:
    try:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass


def _heartbeat(reporter: Reporter, stop: threading.Event, every_s: float = 5.0) -> None:
    while not stop.wait(every_s):
        try:
            reporter.flush()
        except Exception:  # a busy database must not kill the job; the next beat retries
            pass


def _on_signal(signum, frame):
    raise WorkerInterrupted(f"signal {signum}")


def handler_for(kind: str):
    if kind == "infer":
        from core.jobs.infer_job import run_infer

        return run_infer
    if kind == "train":
        from core.jobs.train_job import run_train

        return run_train
    raise ContrarioError(f"no handler for job kind {kind!r}")


def run_job(project_root: str, job_id: int) -> int:
    from core.store.project import Project

    project = Project.open(project_root)

    def waiting(message: str) -> None:  # another job holds this host's slots: say so, in the table too
        emit({"event": "waiting", "job": job_id, "progress": 0.0, "message": message})
        queue.note_waiting(project, job_id, message)

    try:
        with slots.compute_slot(f"job {job_id}", on_wait=waiting):
            if not queue.claim(project, job_id, os.getpid()):
                emit({"event": "not-claimed", "job": job_id})
                return 0
            return run_claimed(project, job_id)
    finally:
        project.close()


def run_claimed(project, job_id: int) -> int:
    """Run a job this process has claimed, and record how it ended; 0 unless it failed."""
    owner = queue.Owner.this_process()
    job = queue.get(project, job_id)
    cancel = TableCancelToken(project, job_id)
    reporter = Reporter(project, job_id, cancel, owner=owner)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(reporter, stop), daemon=True)
    beat.start()
    try:
        with collecting_steps(reporter.on_steps):
            result = handler_for(job.kind)(project, job.payload, reporter, cancel, job_id=job_id)
    except JobCancelled:
        if queue.finish(project, job_id, JobStatus.CANCELLED, "cancelled by the user", owner=owner):
            emit({"event": "cancelled"})
        else:  # taken back by recovery while this process looked gone: its new owner carries on
            emit({"event": "lost", "job": job_id})
        return 0
    except WorkerInterrupted:
        queue.requeue(project, job_id, owner=owner)
        emit({"event": "interrupted"})
        raise
    except ContrarioError as exc:
        queue.finish(project, job_id, JobStatus.FAILED, str(exc), owner=owner)
        emit({"event": "failed", "message": str(exc)})
        return 1
    except Exception as exc:
        queue.finish(project, job_id, JobStatus.FAILED, f"{type(exc).__name__}: {exc}", owner=owner)
        emit({"event": "failed", "message": str(exc), "traceback": traceback.format_exc()})
        return 1
    finally:
        stop.set()
    reporter.flush()  # the last step counts, however recent the previous write
    summary = result.get("summary", "done") if isinstance(result, dict) else "done"
    queue.finish(project, job_id, JobStatus.DONE, summary, result, owner=owner)
    emit({"event": "done", "job": job_id, "result": result})
    return 0


def serve(project_root: str, max_jobs: int | None = None, until_idle: bool = False, poll_s: float = 1.0,
          stale_after_s: float = queue.STALE_AFTER_S) -> int:
    """Take queued jobs one at a time until `max_jobs` ran (or, with `until_idle`, the queue is empty).

    Each job is claimed only once this process holds one of its host's compute slots, so a host whose slots
    are busy (the workbench's or a command's job) leaves the queue to other machines meanwhile. Jobs whose
    worker is gone (here or on another host, `stale_after_s` without a heartbeat) are requeued first, and again
    every few polls, so a crashed worker's job is taken over by a live one. Returns how many jobs this process ran.
    """
    from core.store.project import Project

    project = Project.open(project_root)
    ran, polls = 0, 0
    emit({"event": "serving", "host": queue.Owner.this_process().host, "pid": os.getpid()})
    try:
        while max_jobs is None or ran < max_jobs:
            if polls % 10 == 0:
                queue.recover_interrupted(project, stale_after_s)
            polls += 1
            if queue.next_queued(project) is None:  # nothing to claim: leave the host's slots to others
                if until_idle:
                    break
                time.sleep(poll_s)
                continue
            with slots.compute_slot("contrario worker", on_wait=lambda m: emit({"event": "waiting", "message": m}),
                                    poll_s=min(poll_s, 0.2)):
                t0 = time.perf_counter()
                job_id = queue.claim_next(project)
                claim_ms = 1000 * (time.perf_counter() - t0)
                if job_id is not None:
                    emit({"event": "claimed", "job": job_id, "claim_ms": round(claim_ms, 2)})
                    try:
                        run_claimed(project, job_id)
                    except WorkerInterrupted:
                        break
                    ran += 1
                    continue
            if until_idle:
                break
            time.sleep(poll_s)  # the queue is empty: the slot is free for the host's other jobs meanwhile
    except WorkerInterrupted:
        pass
    finally:
        project.close()
    emit({"event": "stopped", "ran": ran})
    return ran


def set_threads() -> None:
    """Torch threads of this process: $CONTRARIO_THREADS, else the cores divided by the host's compute slots
    when it has several, else torch's own choice (every core: the host runs one job at a time)."""
    threads = os.environ.get("CONTRARIO_THREADS") or slots.threads_per_slot()
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m core.jobs.worker PROJECT JOB_ID", file=sys.stderr)
        return 2
    install_signal_handlers()
    set_threads()
    try:
        return run_job(argv[0], int(argv[1]))
    except WorkerInterrupted:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
