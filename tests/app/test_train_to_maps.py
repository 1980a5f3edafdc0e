"""Training leads to maps: a new revision is scored on the labelled images it was not trained on and
compared with the active one, without the user hunting for the revisions panel (real worker processes)."""

from __future__ import annotations

from workbench_helpers import open_in

from core.jobs.payloads import create_training_free_revision
from core.labels.revisions import add_annotation
from core.models.revisions import active_revision


def test_a_new_revision_is_scored_on_validation_images_and_compared(window, project, qtbot):
    """'Use the training-free detector' used to make a revision that was never scored; compare showed —."""
    open_in(window, project, qtbot)
    active = window.model_revision_id
    labelled = [r.image_id for r in window.rows if not r.failed][:4]
    with project.session() as s:
        for n, image_id in enumerate(labelled):
            add_annotation(s, image_id, "alice", verdict="defect" if n == 0 else "good")
    integration = window.training
    integration.threads = 1
    candidate = create_training_free_revision(project)
    assert active_revision(project) == active  # a later revision waits for promotion
    with qtbot.waitSignal(integration.panel.comparisonReady, timeout=240_000) as got:
        job = integration.candidate_ready(candidate)
        assert job is not None and integration.dock.isVisible()
    comparison = got.args[0]
    assert (comparison.a.revision_id, comparison.b.revision_id) == (active, candidate)
    assert comparison.n_common == len(labelled)
    assert comparison.b.n_evaluated == len(labelled) and comparison.b.regions_per_good_image is not None
    assert active_revision(project) == active
    assert "compare it with" in window.status_label.text()
    integration.shutdown()
