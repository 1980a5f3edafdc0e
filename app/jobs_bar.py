"""Status-bar strip of queued and running jobs (from the window's JobMonitor), each with a cancel button."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app import store_access
from app.job_monitor import JobMonitor, JobsSnapshot
from core.jobs.queue import JobView


class JobRow(QtWidgets.QWidget):
    def __init__(self, job: JobView, on_cancel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_id = job.id
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(4)
        self.label = QtWidgets.QLabel()
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(120)
        self.bar.setFixedHeight(14)
        self.bar.setTextVisible(False)
        self.cancel = QtWidgets.QToolButton()
        self.cancel.setText("✕")
        self.cancel.setToolTip("Cancel this job")
        self.cancel.setAutoRaise(True)
        self.cancel.clicked.connect(lambda: on_cancel(self.job_id))
        for w in (self.label, self.bar, self.cancel):
            layout.addWidget(w)
        self.update_from(job)

    def update_from(self, job: JobView) -> None:
        text = f"{job.kind} #{job.id}: {job.status}"
        if job.cancel_requested:
            text += " (cancelling)"
        self.label.setText(text)
        self.label.setToolTip(job.message or "")
        self.bar.setValue(int(round((job.progress or 0.0) * 1000)))
        self.cancel.setEnabled(not job.cancel_requested)


class JobsBar(QtWidgets.QWidget):
    """Shows the active jobs of each snapshot of `monitor`."""

    jobsChanged = QtCore.Signal(int)  # number of active jobs

    def __init__(self, monitor: JobMonitor, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.monitor = monitor
        self.rows: dict[int, JobRow] = {}
        self._layout = QtWidgets.QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        monitor.updated.connect(self.show_jobs)

    def poll(self) -> None:
        """Read the table now (after queueing or cancelling a job)."""
        self.monitor.refresh()

    def show_jobs(self, snapshot: JobsSnapshot) -> None:
        jobs = snapshot.active()
        seen = set()
        for job in jobs:
            seen.add(job.id)
            row = self.rows.get(job.id)
            if row is None:
                row = JobRow(job, self.cancel)
                self.rows[job.id] = row
                self._layout.addWidget(row)
            else:
                row.update_from(job)
        for job_id in list(self.rows):
            if job_id not in seen:
                row = self.rows.pop(job_id)
                self._layout.removeWidget(row)
                row.deleteLater()
        self.jobsChanged.emit(len(jobs))

    def cancel(self, job_id: int) -> None:
        if self.monitor.project is not None:
            store_access.request_cancel(self.monitor.project, job_id)
            self.poll()
