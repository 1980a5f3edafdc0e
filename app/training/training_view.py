"""Live view of one training job: progress, ETA, loss curve, cancel.

Follows the job row through a JobMonitor (the worker writes progress, step, loss and the time left at most
every 0.3 s); each new step adds a point to the loss curve while training (a job that cross-fits trains one
model per fold before the revision's own: each run starts a new curve, the one before stays dimmed), and the
stored curve of the new model revision replaces them when the job is done.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.job_monitor import JobMonitor, JobsSnapshot
from core.domain.enums import FINISHED_JOB_STATUSES, JobStatus
from core.errors import ContrarioError
from core.jobs import queue
from core.store.schema import as_utc


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


class TrainingView(QtWidgets.QWidget):
    """Shows one train job until it ends; `finished` carries (job id, final status, job result).

    It follows the window's `monitor`; without one (the view on its own) it watches the project itself.
    """

    finished = QtCore.Signal(int, str, object)

    def __init__(self, project, job_id: int, parent: QtWidgets.QWidget | None = None, interval_ms: int = 400,
                 monitor: JobMonitor | None = None) -> None:
        super().__init__(parent)
        self.project, self.job_id = project, job_id
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.status = JobStatus.QUEUED
        self.result: dict | None = None
        self._started_mono: float | None = None
        self._following = True
        self._build()
        if monitor is None:
            monitor = JobMonitor(self, interval_ms)
            monitor.set_project(project)
        self.monitor = monitor
        monitor.watch(job_id)
        monitor.updated.connect(self.show_snapshot)
        self.poll()

    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel(f"Training job #{self.job_id}")
        self.title.setObjectName("itemTitle")
        self.status_label = QtWidgets.QLabel("queued")
        self.status_label.setWordWrap(True)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.eta_label = QtWidgets.QLabel("ETA —")
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(220)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss (NLL per dimension)")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.previous_curve = self.plot.plot([], [], pen=pg.mkPen("#4fa3ff55", width=1))
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#4fa3ff", width=2), symbol="o", symbolSize=4)
        buttons = QtWidgets.QHBoxLayout()
        self.cancel_button = QtWidgets.QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        layout.addWidget(self.title)
        layout.addWidget(self.status_label)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.eta_label)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------------------------------ following
    def poll(self) -> None:
        """Read the job now."""
        self.monitor.refresh()

    def show_snapshot(self, snapshot: JobsSnapshot) -> None:
        if not self._following or self.monitor.project is None:
            return
        job = snapshot.get(self.job_id)
        if job is None:  # a read that began before this view: confirm that the job is really gone
            try:
                queue.get(self.project, self.job_id)
            except ContrarioError as exc:
                self.status_label.setText(str(exc))
                self.stop()
            return
        self.status = job.status
        self.bar.setValue(int(round(job.progress * 1000)))
        if job.step is not None and job.loss is not None:
            self._add_point(job.step, job.loss)
        if job.status == JobStatus.RUNNING:
            if self._started_mono is None:
                self._started_mono = time.monotonic()
            started = as_utc(job.started_at)
            elapsed = ((datetime.now(timezone.utc) - started).total_seconds() if started is not None
                       else time.monotonic() - self._started_mono)
            self.eta_label.setText(f"elapsed {format_duration(elapsed)} · ETA {format_duration(job.eta_s)}")
            self.status_label.setText(job.message or "running")
        elif job.status == JobStatus.QUEUED:
            self.status_label.setText(f"waiting for a worker ({job.message or 'queued'})")
        if job.status in FINISHED_JOB_STATUSES:
            self._finish(job)

    def _add_point(self, step: int, loss: float) -> None:
        """A step back means the job began its next run (a cross-fitting model, then the revision's own): that run
        gets the bright curve, the one before stays beside it, dimmed."""
        if self.steps and step < self.steps[-1]:
            self.previous_curve.setData(self.steps, self.losses)
            self.steps, self.losses = [], []
        if not self.steps or step > self.steps[-1]:
            self.steps.append(step)
            self.losses.append(loss)
            self.curve.setData(self.steps, self.losses)

    def _finish(self, job) -> None:
        self.stop()
        self.cancel_button.setEnabled(False)
        self.result = job.result
        self.eta_label.setText("")
        if job.status == JobStatus.DONE:
            rev_id = (job.result or {}).get("model_revision_id")
            self._show_stored_curve(rev_id)
            warnings = (job.result or {}).get("calibration_warnings") or []
            text = (job.result or {}).get("summary") or job.message or "done"
            if warnings:
                text += "\nCalibration: " + "; ".join(warnings)
            elif (job.result or {}).get("calibration_ok"):
                text += "\nCalibration: latents close to N(0, 1) on held-out good images."
            self.status_label.setText(text)
        else:
            self.status_label.setText(f"{job.status}: {job.message or ''}")
        self.finished.emit(self.job_id, job.status, job.result)

    def _show_stored_curve(self, rev_id: int | None) -> None:
        from core.store.schema import ModelRevision

        if rev_id is None:
            return
        with self.project.session(readonly=True) as s:
            rev = s.get(ModelRevision, rev_id)
            curve = list(rev.training_curve or []) if rev is not None else []
            steps = int(((rev.figures or {}).get("training") or {}).get("steps") or len(curve)) if rev else 0
        if curve:
            stride = max(1, steps // len(curve)) if steps else 1
            self.steps = [1 + i * stride for i in range(len(curve))]
            self.losses = [float(v) for v in curve]
            self.curve.setData(self.steps, self.losses)
            self.previous_curve.setData([], [])

    def cancel(self) -> None:
        queue.request_cancel(self.project, self.job_id)
        self.cancel_button.setEnabled(False)
        self.status_label.setText("cancelling...")
        self.poll()

    def stop(self) -> None:
        """Stop following the job (it goes on in its worker)."""
        if not self._following:
            return
        self._following = False
        self.monitor.updated.disconnect(self.show_snapshot)
        if self.monitor.parent() is self:
            self.monitor.set_project(None)


class TrainingWindow(QtWidgets.QDialog):
    """A non-modal window around TrainingView."""

    def __init__(self, project, job_id: int, parent: QtWidgets.QWidget | None = None,
                 monitor: JobMonitor | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Training model (job #{job_id})")
        self.setModal(False)
        self.resize(560, 420)
        layout = QtWidgets.QVBoxLayout(self)
        self.view = TrainingView(project, job_id, self, monitor=monitor)
        layout.addWidget(self.view)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)

    def closeEvent(self, event) -> None:
        # Closing the window does not stop the job: it keeps running in its worker process.
        self.view.stop()
        super().closeEvent(event)
