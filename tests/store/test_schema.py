"""The schema models the whole chain: batch -> item -> views -> annotations, models, jobs, results, regions."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from core.store.schema import (
    Annotation,
    Batch,
    DatasetRevision,
    DefectClass,
    Image,
    InferenceResult,
    Item,
    Job,
    ModelRevision,
    Region,
)


def test_full_chain_and_cascades(new_project):
    with new_project() as p:
        mask = p.blobs.put_array(np.eye(4, dtype=np.uint8))
        with p.session() as s:
            batch = Batch(name="lot 7", product_line="hides", source_folder="/data/lot7")
            item = Item(name="hide-001", batch=batch)
            top = Image(item=item, view="top", original_path="/data/lot7/hide-001_top.png", sha256="a" * 64,
                        width=4, height=4, mode="L", bit_depth=8, channels=1)
            Image(item=item, view="side", original_path="/data/lot7/hide-001_side.png", sha256="b" * 64,
                  status="failed", error="truncated file")  # joins the session through its item
            s.add_all([batch, DefectClass(name="scratch")])
            s.flush()
            s.add(Annotation(image_id=top.id, annotator="ana", verdict="defect", defect_class="scratch",
                             mask_blob=mask))
            ds = DatasetRevision(image_ids=[top.id], fingerprint="f" * 64)
            s.add(ds)
            s.flush()
            model = ModelRevision(name="m1", dataset_revision_id=ds.id, config={"steps": 10})
            s.add(model)
            s.flush()
            result = InferenceResult(image_id=top.id, model_revision_id=model.id, score=0.9)
            result.regions.append(Region(label=1, log10_nfa=-3.2, area=5, x0=0, y0=0, x1=2, y1=2, scale=1))
            s.add_all([result, Job(kind="infer", payload={"batch": "lot 7"})])
        with p.session(readonly=True) as s:
            assert s.scalar(select(func.count(Image.id))) == 2
            assert s.scalar(select(Image.error).where(Image.view == "side")) == "truncated file"
            assert s.scalar(select(Job.status)) == "queued"
            assert s.scalar(select(Region.log10_nfa)) == -3.2
            assert s.scalar(select(ModelRevision.config)) == {"steps": 10}
        with p.session() as s:
            s.delete(s.scalar(select(Batch)))
        with p.session(readonly=True) as s:
            for table in (Item, Image, Annotation, InferenceResult, Region):
                assert s.scalar(select(func.count()).select_from(table)) == 0, table.__name__
            assert s.scalar(select(func.count(ModelRevision.id))) == 1
