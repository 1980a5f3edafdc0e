"""The honesty curve of a model revision on the project's own labelled good images (Qt-free).

The a contrario threshold k promises at most one false alarm per 10^k images on defect-free parts. The
curve sets what the revision delivers (regions per labelled-good image at k, from the stored scoring
results) against that promise (10^-k), for k = 0..4. Training images are left out: they are not held out.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.revisions import outcomes, training_image_ids

HONESTY_K = (0, 1, 2, 3, 4)  # also the by_k of `contrario eval` (core.evaluation)


@dataclass(frozen=True)
class HonestyCurve:
    revision_id: int
    n_good: int  # labelled-good, scored, not trained on
    ks: tuple[int, ...]
    regions_per_good_image: tuple[float, ...]  # measured, one per k
    nominal: tuple[float, ...]  # 10^-k

    def resolution(self) -> float | None:
        """The smallest non-zero rate the images can show (one region in all of them)."""
        return 1.0 / self.n_good if self.n_good else None


def honesty_curve(project, revision_id: int, ks=HONESTY_K) -> HonestyCurve:
    found = outcomes(project, revision_id)
    trained = set(training_image_ids(project, revision_id))
    good = [o for i, o in found.items() if o.truth == "good" and i not in trained]
    n = len(good)
    measured = tuple(sum(o.n_regions(k) for o in good) / n if n else float("nan") for k in ks)
    return HonestyCurve(revision_id, n, tuple(ks), measured, tuple(10.0 ** -k for k in ks))
