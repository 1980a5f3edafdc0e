"""Status-bar strip of queued and running jobs (polled from the Job table), each with a cancel button."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app import store_access
from app.store_access import JobState


class JobRow(QtWidgets.QWidget):
    def __init__(self, job: JobState, on_cancel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.job_id = job.job_id
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

    def update_from(self, job: JobState) -> None:
        text = f"{job.kind} #{job.job_id}: {job.status}"
        if job.cancel_requested:
            text += " (cancelling)"
        self.label.setText(text)
        self.label.setToolTip(job.message or "")
        self.bar.setValue(int(round(job.progress * 1000)))
        self.cancel.setEnabled(not job.cancel_requested)


class JobsBar(QtWidgets.QWidget):
    """Polls the project's Job table every `interval_ms` on the GUI thread (a tiny indexed query)."""

    jobsChanged = QtCore.Signal(int)  # number of active jobs

    def __init__(self, parent: QtWidgets.QWidget | None = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self.project = None
        self.rows: dict[int, JobRow] = {}
        self._layout = QtWidgets.QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    def set_project(self, project) -> None:
        self.project = project
        self.poll()
        if project is None:
            self.timer.stop()
        else:
            self.timer.start()

    def poll(self) -> None:
        jobs = store_access.active_jobs(self.project) if self.project is not None else []
        seen = set()
        for job in jobs:
            seen.add(job.job_id)
            row = self.rows.get(job.job_id)
            if row is None:
                row = JobRow(job, self.cancel)
                self.rows[job.job_id] = row
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
        if self.project is not None:
            store_access.request_cancel(self.project, job_id)
            self.poll()
