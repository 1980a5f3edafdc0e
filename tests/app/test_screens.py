"""Laptop and projector screens: the window with its docks open fits, and no text is cut or overprinted."""

from __future__ import annotations

import pytest
from workbench_helpers import open_in

from app.layout import cut_or_overlapping


@pytest.mark.parametrize("size", [(1366, 768), (1280, 720)])
def test_window_with_the_revisions_panel_fits_small_screens(window, project, qtbot, size):
    """The minimum width was 1416 px, 1800 px with the revisions panel: off a 1600-pixel screen."""
    open_in(window, project, qtbot)
    window.training.dock.show()
    window.labels.findings_dock.show()
    window.resize(*size)
    qtbot.wait(50)
    window.wait_idle()
    assert window.minimumSizeHint().width() <= size[0] and window.minimumSizeHint().height() <= size[1]
    assert (window.width(), window.height()) == size
    assert cut_or_overlapping(window) == []


def test_threshold_slider_reaches_the_strongest_region_and_its_label_is_not_cut(window, project, qtbot):
    open_in(window, project, qtbot)
    window.resize(1280, 720)
    strongest = max(-r.best_log10_nfa for r in window.rows if r.best_log10_nfa is not None)
    assert strongest <= window.controls.threshold_scale.k_max <= 1.1 * strongest + 0.2
    window.controls.threshold_slider.setValue(window.controls.threshold_slider.maximum())
    qtbot.wait(20)
    assert window.k == window.controls.threshold_scale.k_max
    label = window.controls.threshold_label
    assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())
    assert cut_or_overlapping(window) == []
