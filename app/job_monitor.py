"""The one watcher of the jobs table in the workbench.

`JobMonitor` reads the project's job rows on a timer, on a pool thread, and emits a `JobsSnapshot` on the GUI
thread; the jobs bar, the training integration and the live training views subscribe to `updated`. A read
that started before a newer one was delivered is dropped, so subscribers never see time run backwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore

from app.workers import TaskRunner
from core.domain.enums import ACTIVE_JOB_STATUSES
from core.errors import ContrarioError
from core.jobs import queue
from core.jobs.queue import JobView

RECENT = 50  # newest rows read besides the active and the watched ones


@dataclass(frozen=True)
class JobsSnapshot:
    """Job rows at one instant: every active job, the newest `RECENT` and the watched ones, newest first."""

    jobs: tuple[JobView, ...] = ()

    def get(self, job_id: int) -> JobView | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    def active(self) -> list[JobView]:
        """Queued and running jobs, oldest first."""
        return sorted((j for j in self.jobs if j.status in ACTIVE_JOB_STATUSES), key=lambda j: j.id)


def read_jobs(project, watched: frozenset[int] = frozenset()) -> JobsSnapshot:
    rows = {j.id: j for j in queue.list_jobs(project, ACTIVE_JOB_STATUSES, limit=10_000)}
    rows.update((j.id, j) for j in queue.list_jobs(project, limit=RECENT) if j.id not in rows)
    for job_id in watched - rows.keys():
        try:
            rows[job_id] = queue.get(project, job_id)
        except ContrarioError:  # deleted: its watcher learns it from its absence
            pass
    return JobsSnapshot(tuple(sorted(rows.values(), key=lambda j: j.id, reverse=True)))


class JobMonitor(QtCore.QObject):
    updated = QtCore.Signal(object)  # JobsSnapshot

    def __init__(self, parent: QtCore.QObject | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self.project = None
        self.latest = JobsSnapshot()
        self._watched: set[int] = set()
        self._started = 0  # sequence number of the latest read started
        self._delivered = 0  # ... and of the latest delivered
        self._in_flight = False
        self.tasks = TaskRunner(max_threads=1, parent=self)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._read_in_background)

    def set_project(self, project) -> None:
        """Watch `project`'s jobs (None: stop, after any read in flight, and deliver an empty snapshot)."""
        self.timer.stop()
        self.project = None
        self.tasks.wait()
        self._in_flight = False
        self.project = project
        self._watched.clear()
        self.latest = JobsSnapshot()
        if project is None:
            self.updated.emit(self.latest)
        else:
            self.refresh()
            self.timer.start()

    def watch(self, job_id: int) -> None:
        """Keep `job_id` in every snapshot, however old it gets."""
        self._watched.add(job_id)

    def refresh(self) -> JobsSnapshot:
        """Read now, on the calling thread, and deliver (after a change made from the GUI)."""
        if self.project is None:
            return self.latest
        self._started += 1
        try:
            snapshot = read_jobs(self.project, frozenset(self._watched))
        except ContrarioError:
            return self.latest
        self._deliver(self._started, self.project, snapshot)
        return snapshot

    def _read_in_background(self) -> None:
        if self._in_flight or self.project is None:
            return
        self._started += 1
        self._in_flight = True
        seq, project, watched = self._started, self.project, frozenset(self._watched)
        self.tasks.start(read_jobs, project, watched,
                         on_done=lambda snapshot: self._landed(seq, project, snapshot),
                         on_error=lambda _message: self._landed(seq, project, None))

    def _landed(self, seq: int, project, snapshot: JobsSnapshot | None) -> None:
        self._in_flight = False
        if snapshot is not None:
            self._deliver(seq, project, snapshot)

    def _deliver(self, seq: int, project, snapshot: JobsSnapshot) -> None:
        if project is not self.project or seq <= self._delivered:
            return
        self._delivered = seq
        self.latest = snapshot
        self.updated.emit(snapshot)
