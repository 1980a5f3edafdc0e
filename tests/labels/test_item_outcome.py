"""An item's model outcome combines its views: score = the highest view's, defect when any view has a region at k."""
from __future__ import annotations

import json

from core.cli import main
from core.domain.items import ViewOutcome, item_label, item_outcome
from core.labels.findings import find_findings
from core.labels.revisions import add_annotation


def test_item_score_is_the_highest_view_and_any_region_at_k_makes_it_defect():
    outcome = item_outcome([ViewOutcome("top", 0.2, ()), ViewOutcome("left", 0.9, (-1.5,)),
                            ViewOutcome("right", 0.4, (-3.0, -0.5))])
    assert outcome.score == 0.9
    assert outcome.suggestion(2.0) == "defect" and outcome.flagged_views(2.0) == ["right"]
    assert outcome.flagged_views(1.0) == ["left", "right"]
    assert outcome.suggestion(3.5) == "good" and outcome.best_log10_nfa() == -3.0
    assert item_outcome([]) is None


def test_item_label_is_defect_when_any_view_is_and_good_only_when_every_view_is():
    assert item_label(["good", "defect", None]) == "defect"
    assert item_label(["good", "good"]) == "good"
    assert item_label(["good", None]) is None and item_label(["unsure", "good"]) is None


def test_findings_summarise_multi_view_items_with_the_combination(lab, capsys):
    views = {v: lab.image_id("fruit1", v) for v in ("cam1", "cam2", "cam3")}
    rev = lab.add_model_result(views["cam1"], [], score=0.3)
    lab.add_model_result(views["cam2"], [-2.5], revision=rev, score=0.8)
    lab.add_model_result(views["cam3"], [-0.7], revision=rev, score=0.5)
    for v in ("cam1", "cam2", "cam3"):
        lab.add_model_result(lab.image_id("fruit2", v), [-1.0], revision=rev, score=0.4)
    lab.add_model_result(lab.image_id("tile1", "cam1"), [-9.0], revision=rev, score=0.99)  # one view: no summary
    with lab.project.session() as s:
        add_annotation(s, views["cam2"], "alice", verdict="defect")

    items = {i.item: i for i in find_findings(lab.project, model_revision_id=rev, k_good=2.0).items}
    assert set(items) == {"fruit1", "fruit2"}
    assert items["fruit1"].score == 0.8 and items["fruit1"].suggestion == "defect"
    assert items["fruit1"].flagged_views == ["cam2"] and items["fruit1"].label == "defect"
    assert items["fruit2"].score == 0.4 and items["fruit2"].suggestion == "good" and items["fruit2"].label is None
    assert {i.item: i.suggestion for i in find_findings(lab.project, model_revision_id=rev, k_good=0.5).items} == \
        {"fruit1": "defect", "fruit2": "defect"}

    with lab.project.session() as s:  # the CLI reports the active model's item outcomes
        from core.domain.active_model import activate_if_none_chosen
        activate_if_none_chosen(s, rev, force=True)
    assert main(["findings", str(lab.project.root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {i["item"]: i["suggestion"] for i in out["items"]} == {"fruit1": "defect", "fruit2": "good"}
    assert main(["findings", str(lab.project.root)]) == 0
    assert "fruit1: score 0.800, regions on cam2 (labelled defect)" in capsys.readouterr().out
