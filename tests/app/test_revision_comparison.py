"""Comparing a candidate revision with the active one shows, for both, the confusion matrix of the labels
against "has a region at k" and the precision-recall curve of the image scores (issue 18, item 5)."""

from __future__ import annotations

import numpy as np
from fixture_results import score_images
from sklearn.metrics import average_precision_score
from sqlalchemy import delete, select, update
from workbench_helpers import open_in

from core.labels.revisions import add_annotation
from core.store.schema import InferenceResult, Region

K = 2.0


def _matrix(rows, truth, flagged_of) -> dict[tuple[str, str], int]:
    counts = {(t, d): 0 for t in ("good", "defect") for d in ("clear", "flagged")}
    for r in rows:
        counts[(truth[r.image_id], "flagged" if flagged_of(r) else "clear")] += 1
    return counts


def test_compare_shows_confusion_matrices_and_precision_recall_of_both_revisions(window, project, qtbot):
    open_in(window, project, qtbot)
    active = window.model_revision_id
    scored = sorted((r for r in window.rows if r.score is not None), key=lambda r: r.best_log10_nfa or 0.0)
    defects = [r for r in scored if r.best_log10_nfa is not None and r.best_log10_nfa <= -K][:3]
    assert len(defects) >= 2, "the fixture project needs images with regions at k = 2"
    goods = [r for r in scored if r not in defects]
    truth = {r.image_id: "defect" for r in defects} | {r.image_id: "good" for r in goods}
    with project.session() as s:
        for image_id, verdict in truth.items():
            add_annotation(s, image_id, "alice", verdict=verdict)
    labelled = defects + goods
    candidate = score_images(project, [r.image_id for r in labelled], name="candidate")
    missed = defects[0].image_id  # the candidate loses the strongest defect: no region, score 0
    with project.session() as s:
        result = s.scalar(select(InferenceResult.id).where(InferenceResult.model_revision_id == candidate,
                                                           InferenceResult.image_id == missed))
        s.execute(delete(Region).where(Region.result_id == result))
        s.execute(update(InferenceResult).where(InferenceResult.id == result).values(score=0.0))

    panel = window.training.panel
    window.training.dock.show()
    panel.refresh(select=candidate)
    panel.set_k(K)
    with qtbot.waitSignal(panel.curvesReady, timeout=20000) as got:
        panel.compare(active, candidate)
    curves = got.args[0]
    assert (curves.a.revision_id, curves.b.revision_id, curves.k) == (active, candidate, K)
    assert sorted(curves.image_ids) == sorted(truth) and (curves.n_good, curves.n_defect) == (len(goods), len(defects))

    plot = panel.comparison_plot
    assert plot.isVisibleTo(panel)
    expected_a = _matrix(labelled, truth, lambda r: r.best_log10_nfa is not None and r.best_log10_nfa <= -K)
    expected_b = dict(expected_a)
    expected_b[("defect", "flagged")] -= 1
    expected_b[("defect", "clear")] += 1
    for grid, expected in ((plot.grid_a, expected_a), (plot.grid_b, expected_b)):
        shown = {key: int(cell.text()) for key, cell in grid.cells.items()}
        assert shown == expected
    assert f"#{active}" in plot.grid_a.title.text() and f"#{candidate}" in plot.grid_b.title.text()

    y = [truth[r.image_id] == "defect" for r in labelled]
    ap_a = average_precision_score(y, [r.score for r in labelled])
    ap_b = average_precision_score(y, [0.0 if r.image_id == missed else r.score for r in labelled])
    assert curves.a.pr.average_precision == ap_a and curves.b.pr.average_precision == ap_b
    for side, pr in (("A", curves.a.pr), ("B", curves.b.pr)):
        xs, ys = plot.curves[side].getData()
        assert np.array_equal(xs, pr.recall) and np.array_equal(ys, pr.precision)
        assert f"AP {pr.average_precision:.2f}" in plot.legend.getLabel(plot.curves[side]).text
    (x0, x1), (y0, y1) = plot.plot.getViewBox().viewRange()
    assert x0 <= 0 and x1 >= 1 and y0 <= 0 and y1 >= 1  # the whole unit square, whatever the curves
    # the decision at k is a point on each curve's axes: (recall, precision) of its confusion matrix
    recall_b = expected_b[("defect", "flagged")] / len(defects)
    assert plot.points["B"].getData()[0][0] == recall_b
    assert f"{len(truth)} labelled images" in plot.caption.text()

    panel.refresh(select=active)  # another selection: the comparison and its plot are gone
    assert panel.curves is None and not plot.isVisibleTo(panel)


def test_the_revisions_panel_opens_at_the_window_threshold(window, project, qtbot):
    """Its k box started at 0 whatever the slider said."""
    open_in(window, project, qtbot)
    window.set_k(K)
    window.training.dock.show()
    qtbot.waitUntil(lambda: window.training.dock.isVisible())
    assert window.training.panel.k == K and window.training.panel.k_spin.value() == K
