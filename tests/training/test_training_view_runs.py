"""The training view's loss curve follows each run of a job: cross-fitting folds, then the revision's model."""

from __future__ import annotations

import dataclasses

from app.job_monitor import JobsSnapshot
from app.training.training_view import TrainingView
from core.domain.enums import JobStatus
from core.jobs import queue
from core.store.project import Project


def test_each_run_of_a_training_job_gets_its_own_curve(qtbot, tmp_path):
    project = Project.create(tmp_path / "p")
    try:
        job_id = queue.submit(project, "train", {})
        view = TrainingView(project, job_id, interval_ms=60_000)
        qtbot.addWidget(view)
        row = dataclasses.replace(queue.get(project, job_id), status=JobStatus.RUNNING)

        def step(n: int, loss: float) -> None:
            view.show_snapshot(JobsSnapshot(jobs=(dataclasses.replace(row, step=n, total_steps=3, loss=loss),)))

        for n, loss in ((1, 0.9), (2, 0.8), (2, 0.8), (3, 0.7)):  # fold 1 (a repeated read adds nothing)
            step(n, loss)
        assert (view.steps, view.losses) == ([1, 2, 3], [0.9, 0.8, 0.7])
        step(1, 0.95)  # fold 2 starts over at step 1
        step(2, 0.85)
        assert (view.steps, view.losses) == ([1, 2], [0.95, 0.85])
        assert list(view.curve.getData()[1]) == [0.95, 0.85]
        assert list(view.previous_curve.getData()[1]) == [0.9, 0.8, 0.7]
        view.stop()
    finally:
        project.close()
