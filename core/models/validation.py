"""Where a new model revision is judged before promotion (Qt-free): the project's labelled images that
its training never saw."""

from __future__ import annotations

from dataclasses import dataclass

from core.metrics.decisions import ConfusionMatrix, PrecisionRecall, confusion, precision_recall
from core.models.revisions import Comparison, compare_revisions, ground_truth, paired_outcomes, training_image_ids


def validation_image_ids(project, revision_id: int) -> list[int]:
    """Images labelled good or defect (any annotator) outside the revision's training set, in id order."""
    with project.session(readonly=True) as s:
        labelled = ground_truth(s)
    trained = set(training_image_ids(project, revision_id))
    return sorted(i for i in labelled if i not in trained)


MIN_FOR_VALIDATION = 10  # below this every good image trains; the labelled defects still judge the revision


def hold_out(image_ids: list[int], percent: int) -> tuple[list[int], list[int]]:
    """(training, validation): every n-th image by id kept for validation (n = 100 / percent), so the split
    is the same each time. percent = 0, or fewer than MIN_FOR_VALIDATION images, keeps nothing back."""
    ids = sorted(image_ids)
    if percent <= 0 or len(ids) < MIN_FOR_VALIDATION:
        return ids, []
    every = max(2, round(100 / min(percent, 50)))
    validation = ids[every - 1::every]
    keep = set(validation)
    return [i for i in ids if i not in keep], validation


def by_file_name(project, image_ids: list[int]) -> list[tuple[int, str]]:
    """(id, file name) in the order the train job takes "the first N" (core.jobs.train_job)."""
    from sqlalchemy import select

    from core.store.schema import Image

    with project.session(readonly=True) as s:
        rows = s.execute(select(Image.id, Image.original_path).where(Image.id.in_(list(image_ids)))).all()
    rows.sort(key=lambda r: (r.original_path.rsplit("/", 1)[-1], r.original_path))
    return [(r.id, r.original_path.rsplit("/", 1)[-1]) for r in rows]


@dataclass
class RevisionDecisions:
    """One revision on the comparison's images: its decisions at k against the labels, and its PR curve."""

    revision_id: int
    confusion: ConfusionMatrix
    pr: PrecisionRecall | None  # None unless both good and defect images are there


@dataclass
class ComparisonCurves:
    """Confusion matrices at k and precision-recall curves of two revisions on the same labelled images:
    scored by both, left out of both trainings (as core.models.revisions.compare_revisions)."""

    k: float
    image_ids: list[int]
    n_good: int
    n_defect: int
    a: RevisionDecisions
    b: RevisionDecisions


def comparison_curves(project, a: int, b: int, k: float = 0.0, paired: tuple | None = None) -> ComparisonCurves:
    found_a, found_b, common, left_out = paired or paired_outcomes(project, a, b)
    ids = [i for i in common if found_a[i].truth is not None and i not in left_out]
    truth = [found_a[i].truth == "defect" for i in ids]

    def of(rev: int, found) -> RevisionDecisions:
        return RevisionDecisions(rev, confusion(truth, [found[i].decision(k) for i in ids]),
                                 precision_recall([found[i].score for i in ids], truth))

    return ComparisonCurves(k, ids, truth.count(False), truth.count(True), of(a, found_a), of(b, found_b))


def comparison_with_curves(project, a: int, b: int, k: float = 0.0) -> tuple[Comparison, ComparisonCurves]:
    """`compare_revisions` and `comparison_curves` from one reading of the two revisions' outcomes."""
    paired = paired_outcomes(project, a, b)
    return compare_revisions(project, a, b, k, paired=paired), comparison_curves(project, a, b, k, paired=paired)
