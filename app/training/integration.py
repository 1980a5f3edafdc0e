"""Wires the retraining loop into the main window: the project's job runner (worker processes), the
"Train model" action, the revisions dock, rescoring after a promotion and reloading when jobs finish.
The runner starts when the project has queued work (at open, or as soon as a job is queued) and stops
when the project closes; a job cut short by closing is requeued and resumes at the next start.

The window needs only: `TrainingIntegration(window)` once, `set_project(project)` on open and
`set_project(None)` on close. It uses the window's `reload()`, `batch_box`, `current_image_id`, `model`,
`status_label`, `jobs_bar`, `job_monitor` and `show_position()`.
"""

from __future__ import annotations

import os

from PySide6 import QtCore, QtWidgets

from app.job_monitor import JobsSnapshot
from app.layout import scrollable
from app.training.revisions_panel import RevisionsPanel
from app.training.train_dialog import TrainDialog
from app.training.training_view import TrainingWindow
from core.domain.enums import FINISHED_JOB_STATUSES, JobStatus


def worker_threads() -> int:
    """Torch threads per worker: leave one core to the GUI."""
    return max(1, (os.cpu_count() or 2) - 1)


class TrainingIntegration(QtCore.QObject):
    trainingStarted = QtCore.Signal(int)  # train job id
    trainingFinished = QtCore.Signal(int, str, object)  # job id, status, result
    rescoreQueued = QtCore.Signal(int)  # infer job id
    jobFinished = QtCore.Signal(int, str, str)  # job id, kind, status

    def __init__(self, window: QtWidgets.QMainWindow, threads: int | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.project = None
        self.job_runner = None
        self.threads = threads or worker_threads()
        self.training_windows: dict[int, TrainingWindow] = {}
        self._job_status: dict[int, str] = {}
        self.last_rescore_job: int | None = None
        self._compare_when_done: dict[int, tuple[int, int]] = {}  # validation scoring job -> (active, candidate)
        # Asked before rescoring; replaced in tests. fn(title, text) -> bool
        self.ask = lambda title, text: QtWidgets.QMessageBox.question(self.window, title, text) == \
            QtWidgets.QMessageBox.StandardButton.Yes

        self.panel = RevisionsPanel()
        self.dock = QtWidgets.QDockWidget("Model revisions", window)
        self.dock.setObjectName("modelRevisionsDock")
        self.dock.setWidget(scrollable(self.panel))
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.visibilityChanged.connect(self._on_dock_shown)
        self.dock.hide()
        self.panel.trainRequested.connect(self.open_train_dialog)
        self.panel.promoted.connect(lambda rev, _prev: self.after_activation(rev))
        self.panel.rolledBack.connect(self.after_activation)
        self.panel.imageActivated.connect(self._show_image)

        self.train_action = window.registry.bind("train_model", lambda: self.open_train_dialog())  # Ctrl+T, in F1
        self.revisions_action = self.dock.toggleViewAction()
        self.revisions_action.setText("Model revisions")
        menu = self._model_menu()
        menu.addSeparator()
        menu.addAction(self.train_action)
        menu.addAction(self.revisions_action)

        window.job_monitor.updated.connect(self.on_jobs)
        self._update_enabled()

    def _on_dock_shown(self, visible: bool) -> None:
        """Open at the window's threshold, wide enough for the figures (a third of the window at most): the canvas
        gives the room."""
        if visible:
            self.panel.set_k(self.window.k)
        if visible and not self.dock.isFloating():
            width = min(max(self.panel.sizeHint().width(), 420), self.window.width() // 3)
            self.window.resizeDocks([self.dock], [width], QtCore.Qt.Orientation.Horizontal)

    def _model_menu(self) -> QtWidgets.QMenu:
        for action in self.window.menuBar().actions():
            if action.menu() is not None and action.text().replace("&", "") == "Model":
                return action.menu()
        return self.window.menuBar().addMenu("&Model")

    # ------------------------------------------------------------------------------------------ project
    def set_project(self, project) -> None:
        """Start the job runner for `project` (None: stop everything of the previous project)."""
        self.shutdown()
        self.project = project
        self.panel.set_project(project)
        if project is not None:
            from core.jobs import queue

            if queue.recover_interrupted(project) or queue.next_queued(project) is not None:
                self.ensure_runner()  # work left from the last session resumes at once
            self._job_status = {j.id: j.status for j in self.window.job_monitor.refresh().jobs}
        self._update_enabled()

    def ensure_runner(self) -> None:
        """Start the project's job runner (worker processes, one job at a time) if it is not running.

        Started when the project has queued work: at open, when this window queues a job, or at the next
        poll after a job was queued elsewhere (Score batch, the CLI).
        """
        if self.project is None:
            return
        if self.job_runner is None:
            from core.jobs.runner import JobRunner

            self.job_runner = JobRunner(self.project, threads=self.threads)
            self.job_runner.start()
        self.job_runner.wake()

    def shutdown(self) -> None:
        for w in list(self.training_windows.values()):
            w.view.stop()
            w.close()
        self.training_windows.clear()
        self.panel.tasks.cancel_all()
        self.panel.wait(10000)
        if self.job_runner is not None:
            self.job_runner.shutdown()
            self.job_runner = None

    def _update_enabled(self) -> None:
        self.train_action.setEnabled(self.project is not None)
        self.train_action.setToolTip("Train a U-Flow model on the verified-good images" if self.project
                                     else "Open a project first")

    # ------------------------------------------------------------------------------------------ training
    def open_train_dialog(self, exec_dialog: bool = True) -> TrainDialog | None:
        """Show the train dialog; on accept, the job is queued and its live view opens."""
        if self.project is None:
            return None
        from app import store_access

        dialog = TrainDialog(self.project, store_access.batches(self.project), selection=self.selection(),
                             current_batch_id=self.current_batch_id(),
                             active_revision=store_access.active_model_revision_id(self.project), parent=self.window)
        dialog.accepted.connect(lambda d=dialog: self._on_dialog_accepted(d))
        if exec_dialog:
            dialog.exec()
        return dialog

    def _on_dialog_accepted(self, dialog: TrainDialog) -> None:
        if dialog.training_free_revision is not None:
            self.window.status_label.setText(f"Training-free model revision #{dialog.training_free_revision} created")
            self.candidate_ready(dialog.training_free_revision)
        elif dialog.job_id is not None:
            self.watch_training(dialog.job_id)

    def watch_training(self, job_id: int) -> TrainingWindow:
        """Open the live view of a queued train job and make sure a worker picks it up."""
        self.ensure_runner()
        win = TrainingWindow(self.project, job_id, self.window, monitor=self.window.job_monitor)
        win.view.finished.connect(self._on_training_finished)
        self.training_windows[job_id] = win
        win.show()
        self.window.status_label.setText(f"Training queued (job #{job_id})")
        self.trainingStarted.emit(job_id)
        return win

    def _on_training_finished(self, job_id: int, status: str, result) -> None:
        rev_id = (result or {}).get("model_revision_id") if status == JobStatus.DONE else None
        self.panel.refresh(select=rev_id)
        if rev_id is not None:
            self.window.status_label.setText(f"Model revision #{rev_id} trained")
            self.candidate_ready(rev_id)
        self.trainingFinished.emit(job_id, status, result)

    def candidate_ready(self, rev_id: int) -> int | None:
        """A new revision exists. The project's first one is active by itself and scores the batch; a later
        one is scored on the labelled images it was not trained on, then compared with the active one in the
        revisions panel, where the user promotes it. Returns the queued scoring job, if any."""
        from app import store_access
        from core.models.revisions import active_revision
        from core.models.validation import validation_image_ids

        self.panel.refresh(select=rev_id)
        self.dock.show()
        active = active_revision(self.project)
        if active == rev_id or active is None:
            return self.after_activation(rev_id)
        self.window.reload()
        with self.project.session(readonly=True) as s:
            from core.jobs.infer_job import images_to_score

            ids = validation_image_ids(self.project, rev_id)
            todo = [r.id for r in images_to_score(s, rev_id, None, ids)] if ids else []
        if not ids:
            self.window.status_label.setText(f"Revision #{rev_id}: no labelled image outside its training set to "
                                             "judge it on; label some, or promote it in Model revisions")
            return None
        if not todo:
            self.panel.compare(active, rev_id)
            return None
        job_id = store_access.queue_images_score_job(self.project, todo, rev_id)
        self._compare_when_done[job_id] = (active, rev_id)
        self._job_status[job_id] = JobStatus.QUEUED
        self.ensure_runner()
        self.window.jobs_bar.poll()
        self.window.status_label.setText(f"Scoring revision #{rev_id} on {len(ids)} labelled images it was not "
                                         f"trained on, to compare it with the active #{active}")
        return job_id

    # ------------------------------------------------------------------------------------------ promotion
    def after_activation(self, rev_id: int) -> int | None:
        """A revision became active: re-sort the review queue by its scores and offer to rescore the batch."""
        self.window.reload()
        batch_id = self.current_batch_id()
        if batch_id is None:
            return None
        from app import store_access

        name = next((n for b, n, _ in store_access.batches(self.project) if b == batch_id), str(batch_id))
        missing = self._unscored_count(rev_id, batch_id)
        done = len(self._batch_image_ids(batch_id)) - missing
        if missing == 0:
            self.window.status_label.setText(f"Revision #{rev_id} active; batch {name} is already scored by it")
            return None
        text = (f"Revision #{rev_id} is now active. It has scored {done} of the {done + missing} images of "
                f"batch {name}.\n\nRescore the batch with it now (runs in the background)?")
        if not self.ask("Rescore batch", text):
            return None
        return self.rescore(rev_id, batch_id)

    def rescore(self, rev_id: int, batch_id: int) -> int:
        from app import store_access

        job_id = store_access.queue_score_job(self.project, batch_id, rev_id)
        self.ensure_runner()
        self._job_status[job_id] = JobStatus.QUEUED
        self.last_rescore_job = job_id
        self.window.status_label.setText(f"Rescoring queued (job #{job_id})")
        self.window.jobs_bar.poll()
        self.rescoreQueued.emit(job_id)
        return job_id

    def _batch_image_ids(self, batch_id: int) -> list[int]:
        return [r.image_id for r in self.window.rows if r.batch_id == batch_id and not r.failed]

    def _unscored_count(self, rev_id: int, batch_id: int) -> int:
        from core.jobs.infer_job import images_to_score

        with self.project.session(readonly=True) as s:
            return len(images_to_score(s, rev_id, batch_id))

    # ------------------------------------------------------------------------------------------ jobs
    def poll_jobs(self) -> None:
        """Read the jobs table now (the window's monitor also reads it on its timer)."""
        self.window.job_monitor.refresh()

    def on_jobs(self, snapshot: JobsSnapshot) -> None:
        """Reload the review queue and the panel when a job of this project finishes."""
        if self.project is None:
            return
        jobs = snapshot.jobs
        changed = False
        if any(job.status == JobStatus.QUEUED for job in jobs):
            self.ensure_runner()
        for job in jobs:
            before = self._job_status.get(job.id)
            self._job_status[job.id] = job.status
            if before != job.status and job.status in FINISHED_JOB_STATUSES and before is not None:
                self.jobFinished.emit(job.id, job.kind, job.status)
                changed = changed or job.status == JobStatus.DONE
        if changed:
            self.panel.refresh()
            self.window.reload()
        for job in jobs:
            pair = self._compare_when_done.get(job.id) if job.status in FINISHED_JOB_STATUSES else None
            if pair is None:
                continue
            del self._compare_when_done[job.id]
            from core.models.revisions import active_revision

            active, candidate = pair
            if job.status == JobStatus.DONE and active_revision(self.project) == active:  # not promoted meanwhile
                self.panel.refresh(select=candidate)
                self.panel.compare(active, candidate)
                self.window.status_label.setText(f"Revision #{candidate} scored on its validation images: compare "
                                                 f"it with #{active} in Model revisions, then promote it")

    # ------------------------------------------------------------------------------------------ helpers
    def selection(self) -> list[int]:
        """The images currently listed in the gallery (its filter is the selection)."""
        model = getattr(self.window, "model", None)
        if model is None or self.project is None:
            return []
        return [model.row_at(pos).image_id for pos in range(model.rowCount())]

    def current_batch_id(self) -> int | None:
        batch_id = self.window.batch_box.currentData()
        if batch_id is None and self.window.current_image_id is not None:
            row = self.window.model.row_by_image(self.window.current_image_id)
            batch_id = row.batch_id if row is not None else None
        return batch_id

    def _show_image(self, image_id: int) -> None:
        pos = self.window.model.position_of(image_id)
        if pos is None:
            self.window.batch_box.setCurrentIndex(0)
            self.window.set_filter("all")
            pos = self.window.model.position_of(image_id)
        if pos is not None:
            self.window.show_position(pos)
