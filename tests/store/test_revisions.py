"""Annotation revisions: edits add rows, never change old ones."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import ContrarioError
from core.labels.revisions import add_annotation, annotation_history, current_annotations
from core.store.schema import Annotation, Batch, DefectClass, Image, Item


@pytest.fixture
def project_with_images(new_project):
    p = new_project()
    with p.session() as s:
        item = Item(name="i", batch=Batch(name="b"))
        imgs = [Image(item=item, view=v, original_path=f"/x/{v}.png", sha256=v * 64) for v in "ab"]
        s.add(item)
        s.flush()
        ids = [i.id for i in imgs]
    yield p, ids
    p.close()


def test_revisions_chain(project_with_images):
    p, (a, b) = project_with_images
    with p.session() as s:
        r1 = add_annotation(s, a, "ana", verdict="good")
        r2 = add_annotation(s, a, "ana", verdict="defect", defect_class="scratch", mask_blob="c" * 64)
        other = add_annotation(s, a, "bob", verdict="unsure")
        add_annotation(s, b, "ana", verdict="good", source="model", source_ref={"model_revision": 2})
    assert (r1.revision, r1.parent_id) == (1, None)
    assert (r2.revision, r2.parent_id) == (2, r1.id)
    assert (other.revision, other.parent_id) == (1, None)
    with p.session(readonly=True) as s:
        first = s.get(Annotation, r1.id)
        assert (first.verdict, first.defect_class) == ("good", None)  # the old revision is untouched
        current = current_annotations(s)
        assert [(c.image_id, c.annotator, c.revision, c.verdict) for c in current] == [
            (a, "ana", 2, "defect"), (a, "bob", 1, "unsure"), (b, "ana", 1, "good")]
        assert [c.annotator for c in current_annotations(s, image_ids=[a])] == ["ana", "bob"]
        assert [c.image_id for c in current_annotations(s, annotator="ana")] == [a, b]
        assert [(h.annotator, h.revision) for h in annotation_history(s, a)] == [
            ("ana", 1), ("ana", 2), ("bob", 1)]
        assert s.scalar(select(DefectClass.name)) == "scratch"


def test_bad_arguments(project_with_images):
    p, (a, _) = project_with_images
    with p.session() as s:
        with pytest.raises(ContrarioError, match="verdict"):
            add_annotation(s, a, "ana", verdict="maybe")
        with pytest.raises(ContrarioError, match="no image"):
            add_annotation(s, 999, "ana", verdict="good")
        with pytest.raises(ContrarioError, match="annotator"):
            add_annotation(s, a, " ", verdict="good")
