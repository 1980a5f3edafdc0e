"""Adjudication view and findings queue on a real project (offscreen)."""

import numpy as np
from labels_helpers import SIZE, box_mask

from app.labels.adjudication import AdjudicationView
from app.labels.findings_queue import FindingsQueue
from core.labels.classes import add_class, list_classes
from core.labels.editing import ADJUDICATED, save_mask
from core.labels.findings import compare_annotations, find_findings
from core.labels.revisions import current_annotations


def test_take_paint_undo_and_save_cites_sources(lab, qtbot):
    p = lab.project
    image = lab.image_id("tile1", "cam1")
    with p.session() as s:
        cid = add_class(s, "scratch").id
        classes = list_classes(s)
    a = save_mask(p, image, "ana", box_mask(5, 5, 20, 20, cid))
    b = save_mask(p, image, "ben", box_mask(10, 10, 30, 30, cid))
    view = AdjudicationView()
    qtbot.addWidget(view)
    view.set_comparison(np.zeros(SIZE, np.uint8), compare_annotations(p, image), classes, project=p, user="lead")
    # two annotators: the result starts as their intersection
    assert (view.result() > 0).sum() == 100 and view.method == "intersection"
    view.apply_combination("union")
    assert (view.result() > 0).sum() == 225 + 400 - 100
    view.take(1)
    assert (view.result() == box_mask(10, 10, 30, 30, cid)).all() and view.method == "take ben"
    view.editor.set_tool("brush")
    view.editor.set_radius(2)
    view.editor.begin_stroke(50, 40)
    view.editor.end_stroke()
    assert view.result()[40, 50] == cid and view.result_method() == "take ben + paint"
    view.editor.undo_group.undo()
    assert view.result()[40, 50] == 0
    new_id = view.save()
    with p.session(readonly=True) as s:
        adj = {c.annotator: c for c in current_annotations(s, [image])}[ADJUDICATED]
    assert adj.id == new_id and adj.source == "adjudicated"
    assert adj.source_ref == {"annotations": sorted([a, b]), "method": "take ben", "by": "lead"}
    assert (p.blobs.get_array(adj.mask_blob) == box_mask(10, 10, 30, 30, cid)).all()


def test_queue_sorted_by_severity_with_filter_and_dismiss(lab, qtbot):
    p = lab.project
    t1, t2 = lab.image_id("tile1", "cam1"), lab.image_id("tile2", "cam1")
    save_mask(p, t1, "ana", box_mask(5, 5, 20, 20))
    save_mask(p, t1, "ben", box_mask(0, 0, 0, 0))
    save_mask(p, t2, "ana", box_mask(5, 5, 20, 20))
    save_mask(p, t2, "ben", box_mask(5, 12, 20, 27))
    queue = FindingsQueue()
    qtbot.addWidget(queue)
    queue.set_report(find_findings(p))
    order = queue.findings_in_order()
    assert [f.kind for f in order] == ["verdict_disagreement", "mask_disagreement"]
    assert order[0].severity > order[1].severity
    seen = []
    queue.findingActivated.connect(seen.append)
    queue.tree.itemActivated.emit(queue.tree.topLevelItem(1), 0)
    assert seen == [order[1]]
    queue.kind_box.setCurrentIndex(queue.kind_box.findData("mask_disagreement"))
    assert [f.kind for f in queue.findings_in_order()] == ["mask_disagreement"]
    queue.kind_box.setCurrentIndex(0)
    queue.tree.topLevelItem(0).setSelected(True)
    queue.dismiss_selected()
    assert [f.kind for f in queue.findings_in_order()] == ["mask_disagreement"]
    assert queue.count.text() == "1 of 2 findings"
