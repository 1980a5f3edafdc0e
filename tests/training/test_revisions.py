"""Figures, comparison, promotion and rollback of model revisions on a real project store.

The inference results are written the way the inference job writes them (uint8 maps, label images,
Region rows); the expected figures are computed independently with scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage
from sklearn.metrics import roc_auc_score

from core.domain.active_model import ACTIVE_MODEL_KEY
from core.errors import ContrarioError
from core.io.importer import import_paths
from core.labels.revisions import add_annotation
from core.models import revisions as revs
from core.models.validation import comparison_curves, comparison_with_curves
from core.store.project import Project
from core.store.schema import DatasetRevision, Image, InferenceResult, ModelRevision, Region

SIZE = (40, 60)  # h, w of every image


@pytest.fixture
def project(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    paths = []
    for i in range(12):
        p = folder / f"img_{i:02d}.png"
        PILImage.fromarray(rng.integers(0, 255, SIZE, dtype=np.uint8)).save(p)
        paths.append(str(p))
    project = Project.create(tmp_path / "project")
    import_paths(project, paths, "lot")
    yield project
    project.close()


def _ids(project) -> list[int]:
    with project.session(readonly=True) as s:
        return [i.id for i in s.query(Image).order_by(Image.original_path)]


def _label(project, verdicts: dict[int, str], masks: dict[int, np.ndarray] | None = None, who: str = "alice"):
    with project.session() as s:
        for image_id, verdict in verdicts.items():
            mask = (masks or {}).get(image_id)
            blob = project.blobs.put_array(mask.astype(np.uint8)) if mask is not None else None
            add_annotation(s, image_id, who, verdict=verdict, mask_blob=blob)


def _revision(project, training: list[int] | None = None, parent: int | None = None) -> int:
    with project.session() as s:
        ds = None
        if training:
            ds = DatasetRevision(image_ids=training, fingerprint="x" * 64)
            s.add(ds)
            s.flush()
        rev = ModelRevision(kind="uflow", parent_id=parent, dataset_revision_id=ds.id if ds else None,
                            config={"config": {"backbone": "tf_efficientnet_lite0", "input_size": 64}},
                            calibration={"ok": True, "warnings": [], "scales": [{"channels": 20, "mean_z2": 1.05, "ks": 0.03}]})
        s.add(rev)
        s.flush()
        return rev.id


def _score(project, rev_id: int, image_id: int, amap: np.ndarray, region_nfas: list[float]) -> None:
    """Store a result: the map (same grid as the image) and one region per NFA value."""
    q = np.clip(np.rint(amap * 255), 0, 255).astype(np.uint8)
    labels = np.zeros(amap.shape, dtype=np.uint16)
    with project.session() as s:
        res = InferenceResult(image_id=image_id, model_revision_id=rev_id, score=float(amap.max()),
                              map_blob=project.blobs.put_array(q), labels_blob=project.blobs.put_array(labels),
                              map_info={"shape": list(amap.shape), "image_size": list(SIZE),
                                        "encoding": "uint8 score*255", "vmin": 0.0, "vmax": 1.0})
        for n, v in enumerate(region_nfas, start=1):
            res.regions.append(Region(label=n, log10_nfa=v, area=10, x0=0, y0=0, x1=5, y1=5, scale=0))
        s.add(res)


def _defect_mask(i: int) -> np.ndarray:
    mask = np.zeros(SIZE, dtype=np.uint8)
    mask[5 + i: 15 + i, 10:25] = 1
    return mask


def test_figures_match_an_independent_computation_and_leave_training_images_out(project):
    ids = _ids(project)
    train, good, bad = ids[:3], ids[3:8], ids[8:12]
    masks = {i: _defect_mask(n) for n, i in enumerate(bad)}
    _label(project, {i: "good" for i in train + good} | {i: "defect" for i in bad}, masks)
    rev = _revision(project, training=train)
    rng = np.random.default_rng(1)
    maps, regions = {}, {}
    for n, i in enumerate(ids):
        amap = rng.uniform(0, 0.6, SIZE).astype(np.float32)
        if i in masks:
            amap[masks[i] > 0] += rng.uniform(0.0, 0.4)
        maps[i] = np.clip(amap, 0, 1)
        regions[i] = [-3.0] if i in bad[:3] else ([-0.5] if i == good[0] else [])
        _score(project, rev, i, maps[i], regions[i])

    fig = revs.revision_figures(project, rev, k=0.0)
    evaluated = good + bad
    quantised = {i: np.rint(maps[i] * 255) / 255 for i in ids}
    expected_image = roc_auc_score([i in bad for i in evaluated], [quantised[i].max() for i in evaluated])
    truth = np.concatenate([(masks[i] > 0).ravel() if i in masks else np.zeros(maps[i].size, bool) for i in evaluated])
    expected_pixel = roc_auc_score(truth, np.concatenate([quantised[i].ravel() for i in evaluated]))
    assert fig.n_scored == 12 and fig.n_training_excluded == 3
    assert (fig.n_evaluated, fig.n_good, fig.n_defect) == (9, 5, 4)
    assert fig.image_auroc == pytest.approx(expected_image, abs=1e-6)
    assert fig.pixel_auroc == pytest.approx(expected_pixel, abs=1e-4)
    assert fig.n_pixel_images == 9
    assert fig.regions_per_good_image == pytest.approx(1 / 5)
    assert fig.good_flagged == pytest.approx(1 / 5) and fig.defect_flagged == pytest.approx(3 / 4)
    assert fig.decisions[bad[0]] and not fig.decisions[bad[3]] and fig.decisions[good[0]]

    strict = revs.revision_figures(project, rev, k=1.0, with_pixels=False)
    assert strict.good_flagged == 0.0 and strict.regions_per_good_image == 0.0
    assert strict.defect_flagged == pytest.approx(3 / 4) and strict.pixel_auroc is None


def test_latest_good_or_defect_verdict_is_the_truth_and_pixel_auroc_needs_a_mask(project):
    ids = _ids(project)
    _label(project, {ids[0]: "defect", ids[1]: "good", ids[2]: "good"})
    _label(project, {ids[0]: "good"}, who="bob")  # later: bob corrects alice
    _label(project, {ids[1]: "unsure"}, who="bob")  # unsure does not override a verdict
    rev = _revision(project)
    for i in ids[:3]:
        _score(project, rev, i, np.full(SIZE, 0.2, np.float32), [])
    with project.session(readonly=True) as s:
        truth = revs.ground_truth(s)
    assert truth[ids[0]].verdict == "good" and truth[ids[1]].verdict == "good"
    fig = revs.revision_figures(project, rev)
    assert fig.n_defect == 0 and fig.image_auroc is None and fig.pixel_auroc is None


def test_comparison_lists_images_whose_decision_changed(project):
    ids = _ids(project)
    _label(project, {i: "good" for i in ids[:6]} | {i: "defect" for i in ids[6:]})
    a = _revision(project)
    b = _revision(project, parent=a)
    flat = np.full(SIZE, 0.3, np.float32)
    for i in ids:
        _score(project, a, i, flat, [-2.0] if i in (ids[0], ids[6]) else [])
        if i != ids[11]:  # B has not scored the last image: it is not compared
            _score(project, b, i, flat, [-2.0] if i in (ids[6], ids[7]) else [])
    comp = revs.compare_revisions(project, a, b, k=1.0, with_pixels=False)
    assert comp.n_common == 11
    changed = {c.image_id: c for c in comp.changed}
    assert set(changed) == {ids[0], ids[7]}
    assert changed[ids[0]].flagged_a and not changed[ids[0]].flagged_b and changed[ids[0]].better_in_b
    assert changed[ids[7]].better_in_b and changed[ids[7]].truth == "defect"
    assert comp.a.good_flagged == pytest.approx(1 / 6) and comp.b.good_flagged == 0.0
    assert "lot" in changed[ids[0]].title
    assert revs.lineage(project, b) == [b, a]

    reads = []
    real = revs.outcomes
    revs.outcomes = lambda *args: reads.append(args[1]) or real(*args)
    try:
        separate = (revs.compare_revisions(project, a, b, k=1.0), comparison_curves(project, a, b, k=1.0))
        n_separate, reads[:] = len(reads), []
        both, curves = comparison_with_curves(project, a, b, k=1.0)
    finally:
        revs.outcomes = real
    assert len(reads) == n_separate - 2  # the pairing of the two revisions' outcomes is read once, not twice
    assert both.n_common == 11 and {c.image_id for c in both.changed} == set(changed)
    assert both == separate[0]
    assert (curves.image_ids, curves.a.confusion, curves.b.confusion) == (
        separate[1].image_ids, separate[1].a.confusion, separate[1].b.confusion)


def test_promote_and_rollback_walk_back_through_promotions(project):
    r1, r2, r3 = (_revision(project) for _ in range(3))
    project.set_setting(ACTIVE_MODEL_KEY, r1)  # as the first train job does
    with pytest.raises(ContrarioError):
        revs.rollback(project)
    assert revs.promote(project, r2) == r1
    assert revs.promote(project, r3) == r2
    assert revs.active_revision(project) == r3
    assert revs.rollback(project) == r2
    assert revs.rollback(project) == r1
    with pytest.raises(ContrarioError):
        revs.rollback(project)
    assert revs.active_revision(project) == r1
    infos = {r.id: r for r in revs.list_revisions(project)}
    assert infos[r1].active and not infos[r3].active
    assert infos[r1].calibration_ok and infos[r1].input_size == 64
    with pytest.raises(ContrarioError):
        revs.promote(project, 999)


def test_training_set_counts_verified_good_images_of_a_selection(project):
    ids = _ids(project)
    assert revs.training_set(project).size == 0
    _label(project, {ids[0]: "good", ids[1]: "good", ids[2]: "defect"})
    _label(project, {ids[1]: "defect"}, who="bob")
    ts = revs.training_set(project)
    assert ts.image_ids == [ids[0]] and ts.n_considered == 12
    sel = revs.training_set(project, selection=[ids[0], ids[2], ids[3]])
    assert sel.image_ids == [ids[0]] and sel.n_considered == 3


def test_honesty_curve_counts_regions_per_labelled_good_image_by_k(project):
    from core.models.honesty import honesty_curve

    ids = _ids(project)
    train, good, bad = ids[:2], ids[2:10], ids[10:12]
    _label(project, {i: "good" for i in train + good} | {i: "defect" for i in bad})
    rev = _revision(project, training=train)
    per_image = {good[0]: [-0.5, -1.5], good[1]: [-2.5], good[2]: [-0.2], train[0]: [-9.0], bad[0]: [-9.0]}
    for i in ids:
        _score(project, rev, i, np.zeros(SIZE, np.float32), per_image.get(i, []))
    curve = honesty_curve(project, rev)
    assert curve.n_good == 8 and curve.ks == (0, 1, 2, 3, 4)  # training and defect images left out
    # k = 0: all 4 regions; k = 1: -1.5 and -2.5; k = 2: -2.5; k >= 3: none
    assert curve.regions_per_good_image == (4 / 8, 2 / 8, 1 / 8, 0.0, 0.0)
    assert curve.nominal == (1.0, 0.1, 0.01, 0.001, 0.0001)
    assert curve.resolution() == 1 / 8
