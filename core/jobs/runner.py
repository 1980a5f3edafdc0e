"""Starting and watching worker processes, from the GUI or the CLI (this module never imports torch).

`run_in_worker` runs one job in a fresh process and returns when it ends; `JobRunner` is a background
thread that works through the queue one job at a time and can be shut down gracefully
(ask -> terminate -> kill). A worker that dies (kill -9, out of memory) has its job marked failed with the
reason.

A project folder is data, never code: a worker starts in Contrario's own folder (not the caller's current
directory, which may be the project), with `-P` so that no current or script directory lands on sys.path, and
with Contrario's own location first on PYTHONPATH. A `core/` package planted beside project.sqlite is never
imported.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import core
from core.domain.enums import JobStatus
from core.jobs import queue

EventCallback = Callable[[int, dict], None]


def code_root() -> Path:
    """The folder holding Contrario's own `core` package (or the frozen application)."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve().parent
    return Path(core.__file__).resolve().parent.parent


def worker_command(project_root: str | Path, job_id: int) -> list[str]:
    root = str(Path(project_root).resolve())
    if getattr(sys, "frozen", False):
        return [sys.executable, "_worker", root, str(job_id)]
    return [sys.executable, "-P", "-m", "core.jobs.worker", root, str(job_id)]


def _site_dirs() -> set[str]:
    import site

    dirs = list(getattr(site, "getsitepackages", lambda: [])()) + [site.getusersitepackages()]
    return {str(Path(d).resolve()) for d in dirs}


def worker_env(threads: int | None = None) -> dict[str, str]:
    """The caller's environment with Contrario's own folder first on PYTHONPATH and no relative entries."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    entries = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.isabs(p)]
    own = str(code_root())
    if own not in _site_dirs():  # a source checkout: make sure the worker imports this very `core`
        entries.insert(0, own)
    if entries:
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))
    else:
        env.pop("PYTHONPATH", None)
    if threads:
        env["CONTRARIO_THREADS"] = str(threads)
    return env


def _describe_exit(code: int) -> str:
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = " (killed: out of memory, or ended by the user or the system)" if sig == signal.SIGKILL else ""
        return f"worker process died from signal {name}{hint}"
    return f"worker process exited with code {code}"


class WorkerProcess:
    """One running worker; `wait()` streams its JSON events to `on_event`."""

    def __init__(self, project, job_id: int, on_event: EventCallback | None = None,
                 threads: int | None = None) -> None:
        self.project, self.job_id, self.on_event = project, job_id, on_event
        self.stderr_tail: list[str] = []
        self.stopped = False  # set by stop(): an exit from our own signal requeues the job, never fails it
        self.proc = subprocess.Popen(
            worker_command(project.root, job_id), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**worker_env(threads), **project.worker_env()}, cwd=code_root(), start_new_session=True,
        )
        self._err_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._err_thread.start()

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line.rstrip()])[-20:]

    def wait(self) -> int:
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if self.on_event:
                self.on_event(self.job_id, event)
        code = self.proc.wait()
        self._err_thread.join(timeout=2)
        owner = queue.Owner.this_process(self.proc.pid)  # only the job as the child left it is changed
        if code != 0 and self.stopped:
            queue.requeue(self.project, self.job_id, owner=owner)
        elif code != 0:
            reason = _describe_exit(code)
            if self.stderr_tail:
                reason += ": " + self.stderr_tail[-1][:300]
            # Only a job the worker left running is marked: a handled failure was already recorded.
            queue.finish(self.project, self.job_id, JobStatus.FAILED, reason, owner=owner)
        return code

    def stop(self, grace_s: float = 5.0) -> None:
        """Graceful shutdown: SIGTERM (the worker requeues its job), then SIGKILL."""
        if self.proc.poll() is not None:
            return
        self.stopped = True
        self.proc.terminate()
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=grace_s)


def run_in_worker(project, job_id: int, on_event: EventCallback | None = None,
                  threads: int | None = None) -> queue.JobView:
    WorkerProcess(project, job_id, on_event, threads).wait()
    return queue.get(project, job_id)


class JobRunner(threading.Thread):
    """Works through the queued jobs of one project, one worker process at a time."""

    def __init__(self, project, on_event: EventCallback | None = None, poll_s: float = 1.0,
                 threads: int | None = None) -> None:
        super().__init__(name="contrario-job-runner", daemon=True)
        self.project, self.on_event, self.poll_s, self.threads = project, on_event, poll_s, threads
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self.current: WorkerProcess | None = None

    def wake(self) -> None:
        """Look at the queue now (call after submitting a job)."""
        self._wake.set()

    def run(self) -> None:
        queue.recover_interrupted(self.project)
        while not self._stopping.is_set():
            job_id = queue.next_queued(self.project)
            if job_id is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            self.current = WorkerProcess(self.project, job_id, self.on_event, self.threads)
            self.current.wait()
            self.current = None

    def shutdown(self, grace_s: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        worker = self.current
        if worker is not None:
            worker.stop(grace_s)
        self.join(timeout=grace_s + 5)
