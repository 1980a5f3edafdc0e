"""Live view of one training job: progress, ETA, loss curve, cancel.

Polls the job row (the worker writes progress and a message such as "step 12/400, nll/dim 1.2345" at most
every 0.3 s); loss points are parsed from that message while training, and the stored curve of the new
model revision replaces them when the job is done.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from core.errors import ContrarioError

STEP_MESSAGE = re.compile(r"step (\d+)/(\d+), nll/dim (-?[0-9.]+(?:e[-+]?\d+)?|nan|inf)", re.IGNORECASE)
FINISHED = ("done", "failed", "cancelled")


def parse_step(message: str | None) -> tuple[int, int, float] | None:
    """(step, total steps, loss) from a training progress message; None for other messages."""
    m = STEP_MESSAGE.search(message or "")
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


def eta_seconds(progress: float, elapsed_s: float) -> float | None:
    """Remaining seconds at the average pace so far; None until the pace is known."""
    if progress <= 0.02 or progress >= 1.0 or elapsed_s <= 0:
        return None
    return elapsed_s * (1.0 - progress) / progress


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class TrainingView(QtWidgets.QWidget):
    """Shows one train job until it ends; `finished` carries (job id, final status, job result)."""

    finished = QtCore.Signal(int, str, object)

    def __init__(self, project, job_id: int, parent: QtWidgets.QWidget | None = None, interval_ms: int = 400) -> None:
        super().__init__(parent)
        self.project, self.job_id = project, job_id
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.status = "queued"
        self.result: dict | None = None
        self._started_mono: float | None = None
        self._build()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
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

    # ------------------------------------------------------------------------------------------ polling
    def poll(self) -> None:
        from core.jobs import queue

        try:
            job = queue.get(self.project, self.job_id)
        except ContrarioError as exc:
            self.status_label.setText(str(exc))
            self.timer.stop()
            return
        self.status = job.status
        self.bar.setValue(int(round(job.progress * 1000)))
        step = parse_step(job.message)
        if step is not None and (not self.steps or step[0] > self.steps[-1]):
            self.steps.append(step[0])
            self.losses.append(step[2])
            self.curve.setData(self.steps, self.losses)
        if job.status == "running":
            if self._started_mono is None:
                self._started_mono = time.monotonic()
            started = _as_utc(job.started_at)
            elapsed = ((datetime.now(timezone.utc) - started).total_seconds() if started is not None
                       else time.monotonic() - self._started_mono)
            self.eta_label.setText(f"elapsed {format_duration(elapsed)} · ETA {format_duration(eta_seconds(job.progress, elapsed))}")
            self.status_label.setText(job.message or "running")
        elif job.status == "queued":
            self.status_label.setText(f"waiting for a worker ({job.message or 'queued'})")
        if job.status in FINISHED:
            self._finish(job)

    def _finish(self, job) -> None:
        self.timer.stop()
        self.cancel_button.setEnabled(False)
        self.result = job.result
        self.eta_label.setText("")
        if job.status == "done":
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

    def cancel(self) -> None:
        from core.jobs import queue

        queue.request_cancel(self.project, self.job_id)
        self.cancel_button.setEnabled(False)
        self.status_label.setText("cancelling...")
        self.poll()

    def stop(self) -> None:
        self.timer.stop()


class TrainingWindow(QtWidgets.QDialog):
    """A non-modal window around TrainingView."""

    def __init__(self, project, job_id: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Training model (job #{job_id})")
        self.setModal(False)
        self.resize(560, 420)
        layout = QtWidgets.QVBoxLayout(self)
        self.view = TrainingView(project, job_id, self)
        layout.addWidget(self.view)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)

    def closeEvent(self, event) -> None:
        # Closing the window does not stop the job: it keeps running in its worker process.
        self.view.stop()
        super().closeEvent(event)
