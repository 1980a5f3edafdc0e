"""Beside the threshold slider, the image scores of the labelled images: good and defect in two colours,
following scoring and label changes (issue 18, item 8 and "also expected")."""

from __future__ import annotations

import numpy as np
from fixture_results import score_images
from PySide6 import QtCore
from workbench_helpers import open_in

from core.io.mvtec import GROUND_TRUTH
from core.labels.revisions import add_annotation


def _shown(window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin edges and the good and defect counts, checked against what is drawn (each class scaled to its peak)."""
    view = window.controls.score_histogram
    h = view.histogram
    assert np.array_equal(view.good.xData, h.edges) and np.array_equal(view.defect.xData, h.edges)
    for drawn, counts in ((view.good.yData, h.good), (view.defect.yData, h.defect)):
        assert np.allclose(drawn, counts / max(1, counts.max()))
    return h.edges, h.good, h.defect


def test_score_histogram_beside_the_slider_follows_scoring_and_labels(window, unscored_project, qtbot):
    project = unscored_project
    open_in(window, project, qtbot)
    hist = window.controls.score_histogram
    assert hist.isVisible()
    assert hist.parentWidget() is window.controls.threshold_slider.parentWidget()  # in the slider's row
    assert hist.histogram.n_good == hist.histogram.n_defect == 0  # nothing scored yet

    readable = [r.image_id for r in window.rows if not r.failed]
    with project.session() as s:  # imported ground truth: 3 defect, 4 good
        for n, image_id in enumerate(readable[:7]):
            add_annotation(s, image_id, GROUND_TRUTH, verdict="defect" if n < 3 else "good", source="import")
    project.set_setting("active_model_revision", score_images(project))
    window.reload()  # what the job poller does when a scoring job is done
    window.wait_idle()
    scores = {r.image_id: r.score for r in window.rows}
    edges, good, defect = _shown(window)
    assert (int(good.sum()), int(defect.sum())) == (4, 3)
    assert np.array_equal(good, np.histogram([scores[i] for i in readable[3:7]], edges)[0])
    assert np.array_equal(defect, np.histogram([scores[i] for i in readable[:3]], edges)[0])
    labelled = [scores[i] for i in readable[:7]]
    assert edges[0] <= min(labelled) and edges[-1] >= max(labelled)
    assert "4 good" in hist.toolTip() and "3 defect" in hist.toolTip()
    assert hist.current.isVisible() and hist.current.value() == scores[window.current_image_id]

    # the user's own verdict changes the distributions at once (their label wins over the ground truth)
    window.show_position(window.model.position_of(readable[3]))
    window.wait_idle()
    assert hist.current.value() == scores[readable[3]]
    qtbot.keyClick(window, QtCore.Qt.Key.Key_D)
    assert (hist.histogram.n_good, hist.histogram.n_defect) == (3, 4)
    window.undo()
    assert (hist.histogram.n_good, hist.histogram.n_defect) == (4, 3)

    # the label source chooses whose labels are counted: "Mine" has none after the undo
    window.label_box.setCurrentIndex(window.label_box.findData("mine"))
    assert hist.histogram.n_good == hist.histogram.n_defect == 0
    # an image scored outside the labelled images' range: the axis widens so its line still shows
    top = max((r for r in window.rows if r.score is not None), key=lambda r: r.score)
    window.show_position(window.model.position_of(top.image_id))
    window.wait_idle()
    (x0, x1), _ = hist.getViewBox().viewRange()
    assert top.score > hist.histogram.edges[-1] and hist.current.value() == top.score and x1 >= top.score
