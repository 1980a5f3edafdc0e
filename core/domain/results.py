"""What a model revision found on each image it scored: its score and its stored regions' log10 NFA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select

from core.store.schema import InferenceResult, Region


@dataclass(frozen=True)
class ScoredImage:
    image_id: int
    score: float
    region_nfas: tuple[float, ...]  # sorted, most significant first


def scored_images(session, revision_id: int, image_ids: Iterable[int] | None = None) -> list[ScoredImage]:
    """Every image the revision has scored (of `image_ids`, else all)."""
    which = [InferenceResult.model_revision_id == revision_id]
    if image_ids is not None:
        which.append(InferenceResult.image_id.in_(list(image_ids)))
    results = session.execute(select(InferenceResult.id, InferenceResult.image_id, InferenceResult.score)
                              .where(*which)).all()
    nfas: dict[int, list[float]] = {}
    for rid, value in session.execute(select(Region.result_id, Region.log10_nfa).join(InferenceResult).where(*which)):
        nfas.setdefault(rid, []).append(float(value))
    return [ScoredImage(iid, float(score), tuple(sorted(nfas.get(rid, [])))) for rid, iid, score in results]
