"""One JobMonitor reads the jobs table off the GUI thread and feeds the jobs bar and a live training view."""

from __future__ import annotations

import threading

import pytest

from app import job_monitor
from app.job_monitor import JobMonitor
from app.jobs_bar import JobsBar
from app.training.training_view import TrainingView
from core.domain.enums import JobStatus
from core.jobs import queue
from core.progress import Steps
from core.store.project import Project


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "project")
    yield p
    p.close()


def test_one_monitor_feeds_the_jobs_bar_and_the_loss_curve(qtbot, project, monkeypatch):
    readers = []
    real_read = job_monitor.read_jobs
    monkeypatch.setattr(job_monitor, "read_jobs",
                        lambda *a: readers.append(threading.current_thread()) or real_read(*a))
    job_id = queue.submit(project, "train", {"config": {}})
    monitor = JobMonitor(interval_ms=50)
    bar = JobsBar(monitor)
    qtbot.addWidget(bar)
    monitor.set_project(project)
    view = TrainingView(project, job_id, monitor=monitor)
    qtbot.addWidget(view)
    assert list(bar.rows) == [job_id] and "queued" in bar.rows[job_id].label.text()

    assert queue.claim(project, job_id)
    queue.report(project, job_id, 0.3, "step 3/10, nll/dim 1.5000", steps=Steps(3, 10, 1.5), eta_s=12.0)
    qtbot.waitUntil(lambda: view.losses == [1.5], timeout=5000)
    assert view.steps == [3] and view.status == JobStatus.RUNNING
    assert "ETA 12 s" in view.eta_label.text()
    qtbot.waitUntil(lambda: "running" in bar.rows[job_id].label.text(), timeout=5000)
    assert bar.rows[job_id].bar.value() == 300

    queue.report(project, job_id, 0.5, "step 5/10, nll/dim 1.2000", steps=Steps(5, 10, 1.2), eta_s=8.0)
    qtbot.waitUntil(lambda: view.steps == [3, 5], timeout=5000)
    assert view.losses == [1.5, 1.2] and bar.rows[job_id].bar.value() == 500
    assert any(t is not threading.main_thread() for t in readers), "every read ran on the GUI thread"

    with qtbot.waitSignal(view.finished, timeout=5000) as finished:
        queue.finish(project, job_id, JobStatus.DONE, "trained", {"summary": "trained"})
    assert finished.args[:2] == [job_id, "done"]
    qtbot.waitUntil(lambda: bar.rows == {}, timeout=5000)
    monitor.set_project(None)



def test_closing_the_project_empties_the_jobs_bar(qtbot, project):
    job_id = queue.submit(project, "infer", {})
    monitor = JobMonitor(interval_ms=50)
    bar = JobsBar(monitor)
    qtbot.addWidget(bar)
    monitor.set_project(project)
    assert list(bar.rows) == [job_id]
    with qtbot.waitSignal(monitor.updated, timeout=5000):
        monitor.set_project(None)
    assert bar.rows == {} and monitor.latest.jobs == ()
