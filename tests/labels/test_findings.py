"""The disagreement finder on constructed cases: exact findings expected."""

import pytest
from labels_helpers import box_mask

from core.labels.classes import add_class
from core.labels.editing import adjudicate, save_mask
from core.labels.findings import compare_annotations, find_findings
from core.labels.mask_ops import combine_masks


def _classes(lab):
    with lab.project.session() as s:
        return add_class(s, "scratch").id, add_class(s, "rot").id


def _build(lab):
    p = lab.project
    scratch, rot = _classes(lab)
    tile1, tile2 = lab.image_id("tile1", "cam1"), lab.image_id("tile2", "cam1")
    f1 = [lab.image_id("fruit1", f"cam{v}") for v in (1, 2, 3)]
    f2c1 = lab.image_id("fruit2", "cam1")
    # two annotators disagree on the verdict
    save_mask(p, tile1, "ana", box_mask(10, 10, 20, 30, scratch))
    save_mask(p, tile1, "ben", box_mask(0, 0, 0, 0))
    # both say defect, masks do not overlap
    save_mask(p, tile2, "ana", box_mask(5, 5, 15, 15, scratch))
    save_mask(p, tile2, "ben", box_mask(5, 20, 15, 30, scratch))
    # same region, different classes
    save_mask(p, f2c1, "ana", box_mask(10, 10, 20, 20, scratch))
    save_mask(p, f2c1, "ben", box_mask(10, 10, 20, 20, rot))
    # three views of one fruit contradict each other
    save_mask(p, f1[0], "ana", box_mask(1, 1, 9, 9, scratch))
    save_mask(p, f1[1], "ana", box_mask(1, 1, 9, 9, rot))
    save_mask(p, f1[2], "ana", box_mask(0, 0, 0, 0))
    # model vs labels (one model revision)
    rev = lab.add_model_result(f1[2], [-3.5, -1.0])  # labelled good, region at k = 3.5
    lab.add_model_result(f1[0], [0.3], rev)  # labelled defect, nothing at k = 0
    lab.add_model_result(f1[1], [-4.0], rev)  # labelled defect and detected: fine
    lab.add_model_result(tile2, [], rev)  # labelled defect by both, no region at all
    return dict(tile1=tile1, tile2=tile2, f1=f1, f2c1=f2c1, rev=rev)


def test_exact_findings_two_annotators_three_views_and_model(lab):
    ids = _build(lab)
    report = find_findings(lab.project)
    got = [(f.kind, f.item, f.views, round(f.severity, 3), f.annotators) for f in report.findings]
    assert got == [
        ("verdict_disagreement", "tile1", ["cam1"], 0.9, ["ana", "ben"]),
        ("mask_disagreement", "tile2", ["cam1"], 0.8, ["ana", "ben"]),
        ("model_flags_good", "fruit1", ["cam3"], 0.575, ["ana"]),
        ("class_disagreement", "fruit2", ["cam1"], 0.55, ["ana", "ben"]),
        ("view_class_conflict", "fruit1", ["cam1", "cam2"], 0.5, []),
        ("model_misses_defect", "fruit1", ["cam1"], 0.45, ["ana"]),
        ("model_misses_defect", "tile2", ["cam1"], 0.45, ["ana", "ben"]),
        ("view_verdict_conflict", "fruit1", ["cam1", "cam2", "cam3"], 0.35, []),
    ]
    by_kind = {f.kind: f for f in report.findings}
    assert by_kind["mask_disagreement"].details["iou"] == 0.0
    assert len(by_kind["mask_disagreement"].details["regions"]) == 2
    assert "ana: defect; ben: good" in by_kind["verdict_disagreement"].reason
    assert "scratch" in by_kind["class_disagreement"].reason and "rot" in by_kind["class_disagreement"].reason
    assert by_kind["model_flags_good"].details["log10_nfa"] == -3.5
    assert by_kind["view_verdict_conflict"].details == {"defect_views": ["cam1", "cam2"], "good_views": ["cam3"]}
    assert report.model_revision_id == ids["rev"]
    (agreement,) = report.agreement
    assert agreement.method == "cohen" and agreement.images == 3
    assert agreement.kappa == pytest.approx(0.0) and agreement.observed == pytest.approx(2 / 3)
    per_image = {r.image_id: r for r in report.images}
    assert per_image[ids["tile2"]].iou == 0.0 and per_image[ids["tile2"]].regions == 2
    assert per_image[ids["f2c1"]].iou == 1.0 and per_image[ids["f2c1"]].regions_disputed == 1


def test_adjudication_resolves_the_annotator_findings(lab):
    ids = _build(lab)
    cmp = compare_annotations(lab.project, ids["tile2"])
    assert [a.annotator for a in cmp.annotations] == ["ana", "ben"]
    assert int(cmp.votes.max()) == 1 and int((cmp.votes == 1).sum()) == 200
    union = combine_masks(cmp.masks, "union")
    adjudicate(lab.project, ids["tile2"], [a.id for a in cmp.annotations], union, by="lead", method="union")
    kinds = {(f.kind, f.item) for f in find_findings(lab.project).findings}
    assert ("mask_disagreement", "tile2") not in kinds
    # the adjudicated label (defect) is what the model check now cites
    (miss,) = [f for f in find_findings(lab.project).findings if f.kind == "model_misses_defect" and f.item == "tile2"]
    assert miss.annotators == ["adjudicated"]
    # a later edit by one annotator re-opens the disagreement
    save_mask(lab.project, ids["tile2"], "ben", box_mask(30, 30, 40, 40, 1))
    kinds = {(f.kind, f.item) for f in find_findings(lab.project).findings}
    assert ("mask_disagreement", "tile2") in kinds


def test_three_annotators_use_fleiss_kappa(lab):
    p = lab.project
    t1, t2, f2c1 = lab.image_id("tile1", "cam1"), lab.image_id("tile2", "cam1"), lab.image_id("fruit2", "cam1")
    for image, verdicts in ((t1, "dgg"), (t2, "ddd"), (f2c1, "ggg")):
        for who, v in zip(("ana", "ben", "carl"), verdicts):
            save_mask(p, image, who, box_mask(0, 0, 5, 5) if v == "d" else box_mask(0, 0, 0, 0))
    report = find_findings(p, batch="lot1")
    (agreement,) = report.agreement
    assert agreement.method == "fleiss" and agreement.annotators == ["ana", "ben", "carl"]
    assert agreement.kappa == pytest.approx(0.55)  # (7/9 - 41/81) / (1 - 41/81)
    assert len(agreement.pairs) == 3
    (f,) = [f for f in report.findings if f.kind == "verdict_disagreement"]
    assert f.item == "tile1" and f.severity == pytest.approx(0.675)
    assert all(x.kind != "mask_disagreement" for x in report.findings)  # identical masks on tile2


def test_no_findings_when_everyone_agrees(lab):
    p = lab.project
    t1 = lab.image_id("tile1", "cam1")
    save_mask(p, t1, "ana", box_mask(2, 2, 12, 12, 1))
    save_mask(p, t1, "ben", box_mask(2, 2, 12, 13, 1))  # IoU 10/11
    report = find_findings(p)
    assert report.findings == []
    assert report.images[0].iou == pytest.approx(100 / 110)
