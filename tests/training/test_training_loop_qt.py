"""The few-shot loop in the GUI, offscreen, on real MTD images with real worker processes:
mark goods -> train -> watch -> (first model scores the lot) -> confirm more goods -> fine-tune ->
compare -> promote -> rescore -> decisions shown."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

from core.errors import ContrarioError
from core.io.importer import import_paths
from core.io.mvtec import find_mask
from core.labels.revisions import add_annotation
from core.models import revisions as revs
from core.store.project import Project
from core.store.schema import Image, ModelRevision

TINY = {"input_size": 64, "train_steps": 8, "batch_size": 4}
JOB_TIMEOUT_MS = 240_000


def _image_ids(project) -> dict[str, int]:
    with project.session(readonly=True) as s:
        return {i.original_path.rsplit("/", 1)[-1]: i.id for i in s.query(Image)}


def _mark(window, image_id: int, verdict: str) -> None:
    window.show_position(window.model.position_of(image_id))
    assert window.current_image_id == image_id
    window.set_verdict(verdict, advance=False)


def _train_from_dialog(integration, qtbot, **choices):
    dialog = integration.open_train_dialog(exec_dialog=False)
    dialog.input_size.setValue(TINY["input_size"])
    dialog.steps.setValue(TINY["train_steps"])
    dialog.batch_size.setValue(TINY["batch_size"])
    if choices.get("scratch"):
        dialog.start_box.setCurrentIndex(0)
    return dialog


def _watch_training(integration, qtbot, dialog) -> tuple[int, dict]:
    seen = []
    with qtbot.waitSignal(integration.trainingStarted, timeout=5000) as started:
        dialog.train_button.click()
    job_id = started.args[0]
    view = integration.training_windows[job_id].view
    view.monitor.updated.connect(lambda _snapshot: seen.append((view.status, view.bar.value(), view.eta_label.text())))
    with qtbot.waitSignal(integration.trainingFinished, timeout=JOB_TIMEOUT_MS) as finished:
        pass
    _job, status, result = finished.args
    assert status == "done", view.status_label.text()
    assert any(s == "running" for s, _v, _eta in seen), "the view never saw the job running"
    assert any("elapsed" in eta for s, _v, eta in seen if s == "running")
    assert view.bar.value() == 1000
    assert len(view.losses) == TINY["train_steps"] and all(np.isfinite(view.losses))
    return job_id, result


def _wait_infer(integration, qtbot, job_id: int) -> None:
    with qtbot.waitSignal(integration.jobFinished, timeout=JOB_TIMEOUT_MS,
                          check_params_cb=lambda jid, kind, status: jid == job_id) as done:
        pass
    assert done.args[2] == "done"


def test_few_shot_loop_from_first_goods_to_rescored_lot(qtbot, tmp_path, mtd_lot, mtd_root, settings):
    from app.main_window import MainWindow

    project = Project.create(tmp_path / "project")
    import_paths(project, [str(p) for paths in mtd_lot.values() for p in paths], "lot1")
    ids = _image_ids(project)
    train_ids = [ids[p.name] for p in mtd_lot["train"]]
    later_good = [ids[p.name] for p in mtd_lot["good"]]
    defects = [ids[p.name] for p in mtd_lot["defect"]]

    window = MainWindow(annotator="alice", settings=settings)
    qtbot.addWidget(window)
    window.show()
    integration = window.training
    integration.threads = 1
    asked = []
    integration.ask = lambda title, text: asked.append(text) or True
    window.set_project(project)
    assert integration.job_runner is None  # nothing queued yet: no worker running
    try:
        # Day one: the inspector confirms four good tiles, and marks the blowholes with their masks.
        for image_id in train_ids:
            _mark(window, image_id, "good")
        for image_id, path in zip(defects, mtd_lot["defect"]):
            _mark(window, image_id, "defect")
            gt = find_mask(mtd_root, "blowhole", path.stem.split("_", 1)[1])
            mask = (np.asarray(PILImage.open(gt).convert("L")) > 127).astype(np.uint8)
            with project.session() as s:
                add_annotation(s, image_id, "alice", verdict="defect", mask_blob=project.blobs.put_array(mask))

        dialog = _train_from_dialog(integration, qtbot)
        assert dialog.image_count() == len(train_ids)
        assert "Trains on 4 verified-good images" in dialog.count_label.text()
        _job, result = _watch_training(integration, qtbot, dialog)
        assert integration.job_runner is not None and integration.job_runner.is_alive()
        first = result["model_revision_id"]
        assert revs.active_revision(project) == first  # the first model is active by itself
        assert sorted(revs.training_image_ids(project, first)) == sorted(train_ids)
        assert asked, "scoring of the lot was not offered for the first model"
        first_scoring = integration.last_rescore_job
        _wait_infer(integration, qtbot, first_scoring)

        # Two more goods are confirmed; fine-tune the active model on all six.
        for image_id in later_good:
            _mark(window, image_id, "good")
        dialog = _train_from_dialog(integration, qtbot)
        assert dialog.start_box.currentData() == first  # fine-tune from the active model by default
        assert dialog.image_count() == len(train_ids) + len(later_good)
        assert not dialog.input_size.isEnabled()
        _job, result = _watch_training(integration, qtbot, dialog)
        second = result["model_revision_id"]
        with project.session(readonly=True) as s:
            assert s.get(ModelRevision, second).parent_id == first
        assert revs.active_revision(project) == first  # a new revision waits for promotion

        panel = integration.panel
        assert panel.selected_id() == second
        assert f"#{second} ← #{first}" in panel.details.text()
        assert "Calibration" in panel.details.text()

        # Promote: rescoring is offered and runs; the review queue follows the new active model.
        asked.clear()
        panel.promote(second)
        assert revs.active_revision(project) == second
        assert asked and f"Revision #{second} is now active" in asked[0]
        _wait_infer(integration, qtbot, integration.last_rescore_job)
        qtbot.waitUntil(lambda: window.model_revision_id == second, timeout=10_000)
        lot = [r for r in window.rows if r.batch_name == "lot1"]
        assert lot and all(r.score is not None for r in lot)

        # Decisions shown: figures of the active model and the side-by-side comparison with its parent.
        with qtbot.waitSignal(panel.figuresReady, timeout=30_000) as got:
            panel.set_k(0.5)
        figures = got.args[0]
        assert figures.revision_id == second and set(figures.decisions) == set(ids.values())
        assert figures.n_training_excluded == 6 and figures.n_defect == 3 and figures.n_good == 0
        assert figures.defect_flagged is not None
        with qtbot.waitSignal(panel.comparisonReady, timeout=30_000) as got:
            panel.compare(first, second)
        comp = got.args[0]
        assert comp.n_common == len(ids)
        assert panel.changed_table.rowCount() == len(comp.changed)
        assert comp.a.image_auroc is None  # every good image was trained on by one of the two
        shown = panel.figure_table.item(4, 1).text()
        assert shown.endswith("%") or shown == "—"

        # Roll back to the first model.
        panel.rollback()
        assert revs.active_revision(project) == first
    finally:
        integration.shutdown()
        window.close()
        project.close()


def test_day_zero_offers_the_training_free_detector(qtbot, tmp_path, mtd_lot):
    from app.training.train_dialog import TrainDialog

    project = Project.create(tmp_path / "project")
    import_paths(project, [str(p) for p in mtd_lot["train"]], "lot1")
    try:
        dialog = TrainDialog(project)
        qtbot.addWidget(dialog)
        assert dialog.image_count() == 0
        assert not dialog.train_button.isEnabled()
        assert not dialog.day_zero.isHidden()
        assert "nothing to train" in dialog.day_zero_label.text()
        with pytest.raises(ContrarioError):
            from core.jobs.payloads import train_payload

            train_payload(project)
        if revs.training_free_available():
            assert not dialog.training_free_button.isHidden()
            dialog.training_free_button.click()
            rev = dialog.training_free_revision
            infos = {r.id: r for r in revs.list_revisions(project)}
            assert infos[rev].kind == "classic" and infos[rev].active
            assert dialog.result() == dialog.DialogCode.Accepted
    finally:
        project.close()


def test_cancel_from_the_training_view_stops_the_worker(qtbot, tmp_path, mtd_lot):
    from app.training.training_view import TrainingView
    from core.jobs import queue
    from core.jobs.payloads import train_payload
    from core.jobs.runner import JobRunner

    project = Project.create(tmp_path / "project")
    import_paths(project, [str(p) for p in mtd_lot["train"]], "lot1")
    with project.session() as s:
        for image_id in _image_ids(project).values():
            add_annotation(s, image_id, "alice", verdict="good")
    payload = train_payload(project)
    payload["config"] = dict(TINY, train_steps=100_000)
    job_id = queue.submit(project, "train", payload)
    runner = JobRunner(project, threads=1, poll_s=0.2)
    runner.start()
    try:
        view = TrainingView(project, job_id, interval_ms=100)
        qtbot.addWidget(view)
        qtbot.waitUntil(lambda: len(view.losses) >= 1, timeout=JOB_TIMEOUT_MS)
        with qtbot.waitSignal(view.finished, timeout=60_000) as finished:
            view.cancel_button.click()
        assert finished.args[1] == "cancelled"
        assert "cancelled" in view.status_label.text()
        with project.session(readonly=True) as s:
            assert s.query(ModelRevision).count() == 0
    finally:
        runner.shutdown()
        project.close()
