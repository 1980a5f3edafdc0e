"""The model revisions panel shows the honesty curve from the project's own labelled good images."""

from __future__ import annotations

from workbench_helpers import open_in

from core.labels.revisions import add_annotation
from core.models.honesty import honesty_curve


def test_revisions_panel_plots_measured_regions_per_good_image_against_nominal(window, project, qtbot):
    open_in(window, project, qtbot)
    goods = [r.image_id for r in window.rows if not r.failed][:6]
    with project.session() as s:
        for image_id in goods:
            add_annotation(s, image_id, "alice", verdict="good")
    rev = window.model_revision_id
    expected = honesty_curve(project, rev)
    assert expected.n_good == 6
    panel = window.training.panel
    window.training.dock.show()
    panel.refresh(select=rev)
    plot = panel.honesty
    qtbot.waitUntil(lambda: plot.curve is not None, timeout=10000)
    assert plot.curve == expected
    xs, ys = plot.nominal.xData, plot.nominal.yData  # as given; drawn as log10
    assert list(xs) == [0, 1, 2, 3, 4] and list(ys) == [1.0, 0.1, 0.01, 0.001, 0.0001]
    mx, my = plot.measured.xData, plot.measured.yData
    shown = {int(k): v for k, v in zip(mx, my)}
    assert shown == {k: v for k, v in zip(expected.ks, expected.regions_per_good_image) if v > 0}
    assert plot.plot.getPlotItem().ctrl.logYCheck.isChecked()  # log scale
    assert "6 labelled-good images" in plot.caption.text()
