"""Where a new model revision is judged before promotion (Qt-free): the project's labelled images that
its training never saw."""

from __future__ import annotations

from core.models.revisions import ground_truth, training_image_ids


def validation_image_ids(project, revision_id: int) -> list[int]:
    """Images labelled good or defect (any annotator) outside the revision's training set, in id order."""
    with project.session(readonly=True) as s:
        labelled = ground_truth(s)
    trained = set(training_image_ids(project, revision_id))
    return sorted(i for i in labelled if i not in trained)
