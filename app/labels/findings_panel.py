"""The Findings dock: "Find disagreements" runs find_findings on a worker, with its progress in the dock, and
lists what it found (FindingsQueue); activating a finding asks for its first image (`imageWanted`).

Uses the window's `registry`, `addDockWidget()` and `show_error()`.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.labels.findings_queue import FindingsQueue
from app.layout import scrollable
from app.workers import Task, TaskRunner
from core.labels.findings import FindingsReport


class FindingsPanel(QtCore.QObject):
    findingsReady = QtCore.Signal(object)  # FindingsReport
    imageWanted = QtCore.Signal(int)  # image id of an activated finding

    def __init__(self, window: QtWidgets.QMainWindow, jobs: TaskRunner) -> None:
        super().__init__(window)
        self.window = window
        self.jobs = jobs
        self.project = None
        self._run = 0
        self.last_report: FindingsReport | None = None

        self.findings = FindingsQueue()
        self.findings.findingActivated.connect(self._on_finding)
        run = QtWidgets.QPushButton("Find disagreements")
        run.setToolTip(window.registry.action("find_findings").toolTip())
        run.clicked.connect(lambda _=False: self.run_findings())
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.status = QtWidgets.QLabel("Not run yet")
        self.status.setStyleSheet("color: #9aa0a8;")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(run)
        top.addWidget(self.progress)
        top.addWidget(self.status, 1)
        box = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(box)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.findings, 1)
        self.dock = QtWidgets.QDockWidget("Findings", window)
        self.dock.setObjectName("findingsDock")
        self.dock.setWidget(scrollable(box))
        window.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()

    def set_project(self, project) -> None:
        self.project = project
        self.last_report = None
        self.findings.set_report(FindingsReport([], [], [], None))
        self.status.setText("Not run yet")

    def run_findings(self, batch: str | None = None) -> Task | None:
        """Show the Findings dock and fill it from find_findings on the worker."""
        if self.project is None:
            return None
        from core.labels.findings import find_findings

        self.dock.show()
        self._run += 1
        run = self._run
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText("Checking labels ...")
        return self.jobs.start(
            find_findings, self.project, batch, with_progress=True,
            on_progress=lambda f, msg: run == self._run and self._on_progress(f, msg),
            on_done=lambda report: run == self._run and self._on_findings(report),
            on_error=lambda msg: self._failed(msg),
        )

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * fraction)))
        self.status.setText(message)

    def _on_findings(self, report: FindingsReport) -> None:
        self.last_report = report
        self.findings.set_report(report)
        self.progress.hide()
        kappas = [f"{a.batch}: κ {a.kappa:.2f}" for a in report.agreement if a.kappa is not None]
        self.status.setText(f"{len(report.findings)} findings" + (" · " + ", ".join(kappas) if kappas else ""))
        self.findingsReady.emit(report)

    def _failed(self, message: str) -> None:
        self.progress.hide()
        self.status.setText("Failed")
        self.window.show_error("Finding disagreements failed", message)

    def _on_finding(self, finding) -> None:
        if finding is not None and finding.image_ids:
            self.imageWanted.emit(finding.image_ids[0])
