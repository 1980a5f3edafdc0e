import numpy as np
import pytest
from labels_helpers import SIZE, box_mask

import core.labels.editing as editing
from core.errors import ContrarioError
from core.labels.classes import add_class, class_lut, list_classes
from core.labels.editing import ADJUDICATED, adjudicate, load_mask, save_mask
from core.labels.revisions import annotation_history, current_annotations


def test_each_save_is_a_new_revision_and_nothing_is_overwritten(lab):
    p = lab.project
    image = lab.image_id("tile1", "cam1")
    with p.session() as s:
        scratch = add_class(s, "scratch", hotkey="1").id
        rot = add_class(s, "rot", hotkey="2").id
    first = box_mask(2, 2, 10, 10, scratch)
    a1 = save_mask(p, image, "ana", first)
    second = first.copy()
    second[20:40, 20:50] = rot  # 600 px of rot > 64 px of scratch
    a2 = save_mask(p, image, "ana", second, source="model", source_ref={"model_revision": 1, "regions": [5]})
    with p.session(readonly=True) as s:
        hist = [(h.id, h.revision, h.parent_id, h.verdict, h.defect_class, h.source, h.mask_blob)
                for h in annotation_history(s, image)]
    assert [h[:6] for h in hist] == [
        (a1, 1, None, "defect", "scratch", "manual"),
        (a2, 2, a1, "defect", "rot", "model"),
    ]
    assert (p.blobs.get_array(hist[0][6]) == first).all()
    assert (p.blobs.get_array(hist[1][6]) == second).all()
    a3 = save_mask(p, image, "ana", np.zeros(SIZE, np.uint8))
    with p.session(readonly=True) as s:
        (cur,) = current_annotations(s, [image])
        assert (cur.id, cur.revision, cur.verdict, cur.mask_blob) == (a3, 3, "good", None)
        assert (load_mask(p, cur, SIZE) == 0).all()


def test_wrong_shape_is_refused(lab):
    with pytest.raises(ContrarioError, match="does not match"):
        save_mask(lab.project, lab.image_id("tile1", "cam1"), "ana", np.zeros((5, 5), np.uint8))


def test_failed_save_leaves_previous_revision_intact(lab, monkeypatch):
    p = lab.project
    image = lab.image_id("tile1", "cam1")
    first = box_mask(2, 2, 10, 10, 1)
    save_mask(p, image, "ana", first)
    real = editing.add_annotation

    def add_then_fail(*args, **kwargs):
        real(*args, **kwargs)  # the row is flushed inside the transaction...
        raise OSError("disk full")  # ...then the save fails before the commit

    monkeypatch.setattr(editing, "add_annotation", add_then_fail)
    with pytest.raises(OSError):
        save_mask(p, image, "ana", box_mask(0, 0, 40, 40, 1))
    with p.session(readonly=True) as s:
        hist = annotation_history(s, image)
        assert [h.revision for h in hist] == [1]
        assert (load_mask(p, hist[0], SIZE) == first).all()


def test_adjudication_cites_its_sources(lab):
    p = lab.project
    t1, t2 = lab.image_id("tile1", "cam1"), lab.image_id("tile2", "cam1")
    a = save_mask(p, t1, "ana", box_mask(0, 0, 10, 10))
    b = save_mask(p, t1, "ben", box_mask(5, 5, 15, 15))
    other = save_mask(p, t2, "ben", box_mask(5, 5, 15, 15))
    with pytest.raises(ContrarioError, match="not all labels"):
        adjudicate(p, t1, [a, other], box_mask(0, 0, 10, 10), by="lead", method="take A")
    adj = adjudicate(p, t1, [b, a], box_mask(0, 0, 10, 10), by="lead", method="take A")
    with p.session(readonly=True) as s:
        cur = {c.annotator: c for c in current_annotations(s, [t1])}
    assert cur[ADJUDICATED].id == adj and cur[ADJUDICATED].source == "adjudicated"
    assert cur[ADJUDICATED].source_ref == {"annotations": [a, b], "method": "take A", "by": "lead"}
    assert cur["ana"].id == a and cur["ben"].id == b  # sources untouched


def test_classes_palette_and_lut(lab):
    with lab.project.session() as s:
        c1 = add_class(s, "scratch", hotkey="1")
        c2 = add_class(s, "rot")
        assert add_class(s, "scratch").id == c1.id
        with pytest.raises(ContrarioError, match="hotkey"):
            add_class(s, "dent", hotkey="1")
        names = [c.name for c in list_classes(s)]
    assert names == ["scratch", "rot"] and c1.color != c2.color
    lut = class_lut([c1, c2], alpha=128)
    assert lut.shape == (256, 4) and tuple(lut[0]) == (0, 0, 0, 0)
    assert tuple(lut[c1.id][:3]) == c1.rgb and lut[c2.id][3] == 128
