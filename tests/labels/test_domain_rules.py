"""One active model and one label rule, the same for training, revision figures, exports and findings."""

from __future__ import annotations

import csv
import json

import numpy as np
from labels_helpers import box_mask

from core.domain.labels import image_labels
from core.io.exports import export, select_rows
from core.jobs.train_job import training_images
from core.labels.editing import adjudicate, save_mask
from core.labels.findings import find_findings
from core.labels.revisions import add_annotation
from core.models import revisions as revs


def _say(project, image_id: int, **verdicts: str) -> list[int]:
    """One revision per annotator, in the order given (so the last one is the newest)."""
    ids = []
    with project.session() as s:
        for who, verdict in verdicts.items():
            ids.append(add_annotation(s, image_id, who, verdict=verdict).id)
    return ids


def test_promoting_revision_1_after_revision_2_makes_findings_and_exports_use_1(lab, tmp_path):
    project = lab.project
    image = lab.image_id("tile1", "cam1")
    _say(project, image, alice="good")
    first = lab.add_model_result(image, [-5.0])  # revision 1 flags the good tile
    second = lab.add_model_result(image, [])  # revision 2 (newer) finds nothing
    assert second > first
    revs.promote(project, first)
    assert revs.active_revision(project) == first

    report = find_findings(project)
    assert report.model_revision_id == first
    assert [f.kind for f in report.findings if image in f.image_ids] == ["model_flags_good"]
    assert json.loads(json.dumps(report.to_dict()))["model_revision_id"] == first

    for fmt in ("mvtec", "coco", "csv", "report"):
        summary = export(project, fmt, tmp_path / fmt)
        assert summary.model_revision_id == first, fmt
        marker = json.loads((tmp_path / fmt / ".contrario-export.json").read_text())
        assert marker["model_revision_id"] == first, fmt
    with open(tmp_path / "csv" / "images.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if int(r["image_id"]) == image)
    assert float(row["best_log10_nfa"]) == -5.0 and int(row["model_revision_id"]) == first
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert coco["info"]["model_revision_id"] == first

    revs.promote(project, second)
    assert find_findings(project).model_revision_id == second
    assert select_rows(project)[0].model_revision_id == second


def test_the_label_rule_is_the_same_in_training_figures_export_and_findings(lab):
    project = lab.project
    adjudicated = lab.image_id("fruit1", "cam1")
    majority = lab.image_id("fruit1", "cam2")
    outvoted_newest = lab.image_id("fruit1", "cam3")
    tie_newest = lab.image_id("fruit2", "cam1")
    unsure_newest = lab.image_id("fruit2", "cam2")
    unlabelled = lab.image_id("fruit2", "cam3")
    cited = _say(project, adjudicated, alice="defect", bob="defect", carol="defect")
    adjudicate(project, adjudicated, cited, np.zeros((48, 64), np.uint8), by="lead", method="take", verdict="good")
    _say(project, majority, alice="good", bob="good", carol="defect")  # carol is newest, and outvoted
    _say(project, outvoted_newest, alice="defect", bob="defect", carol="good")
    _say(project, tie_newest, alice="defect", bob="good")  # one against one: the newer correction wins
    _say(project, unsure_newest, alice="good", bob="unsure")  # unsure does not outvote a verdict
    save_mask(project, lab.image_id("tile1", "cam1"), "alice", box_mask(2, 2, 8, 8))  # a defect with a mask
    expected_good = {adjudicated, majority, tie_newest, unsure_newest}

    with project.session(readonly=True) as s:
        labels = image_labels(s)
    assert {i for i, lab_ in labels.items() if lab_.verdict == "good"} == expected_good
    assert labels[adjudicated].rule == "adjudicated" and labels[majority].rule == "majority"
    assert labels[tie_newest].rule == "newest of a tie" and unlabelled not in labels

    training = set(revs.training_set(project).image_ids)
    frozen = set(training_images(project, {"image_ids": None, "batch_id": None}).image_ids)
    with project.session(readonly=True) as s:
        truth = revs.ground_truth(s)
    figures = {i for i, t in truth.items() if t.verdict == "good"}
    exported = {r.image_id for r in select_rows(project) if r.annotation and r.annotation.verdict == "good"}
    rev = None
    for image_id in list(labels) + [unlabelled]:
        rev = lab.add_model_result(image_id, [-5.0], revision=rev)  # a region on every image
    flagged = {i for f in find_findings(project, model_revision_id=rev).findings if f.kind == "model_flags_good"
               for i in f.image_ids}
    assert training == frozen == figures == exported == flagged == expected_good
    defect_truth = {i for i, t in truth.items() if t.verdict == "defect"}
    assert defect_truth == {outvoted_newest, lab.image_id("tile1", "cam1")}
    assert truth[lab.image_id("tile1", "cam1")].mask_blob is not None
