"""Loading a model revision from the store as a scorer: decoded images in, maps + NFA regions out.

Every model kind gives the same output, so review, thresholds and exports do not care which one ran.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.domain.view_modes import is_per_view, view_order
from core.errors import ModelError
from core.store.schema import ModelRevision

# Regions down to this significance are stored; the GUI shows those with log10 NFA <= -k for k >= 0.
STORE_LOG_NFA_BELOW = 0.0
CLASSIC_FULL_SCALE = 10.0  # -log10 NFA shown at full colour by the training-free detector


@dataclass
class Scored:
    anomaly_map: np.ndarray  # float32 in [0, 1] at the model grid, covering the whole image
    score: float
    labels: np.ndarray  # int32 region labels on the same grid, 0 = background
    regions: list  # core.nfa Region-like: label, area, bbox (y0, x0, y1, x1), log10_nfa, scale
    timing_ms: dict[str, float] = field(default_factory=dict)


def _uflow_checkpoint(project, revision_id: int) -> tuple[str, dict]:
    with project.session(readonly=True) as s:
        rev = s.get(ModelRevision, revision_id)
        if rev is None:
            raise ModelError(f"no model revision {revision_id}")
        if rev.kind != "uflow":
            raise ModelError(f"model revision {revision_id} is a {rev.kind} model, not U-Flow")
        return rev.weights_blob, dict(rev.config or {})


def load_uflow(project, revision_id: int):
    """The one U-Flow model of a revision (a stacked one included); per-view revisions hold several."""
    from core.models.uflow import UFlowModel

    sha, description = _uflow_checkpoint(project, revision_id)
    if is_per_view(description):
        raise ModelError(f"model revision {revision_id} holds one model per view ({', '.join(view_order(description))})"
                         ": it cannot be fine-tuned or used as one model")
    return UFlowModel.from_bytes(project.blobs.get_bytes(sha), description)


def load_per_view(project, revision_id: int):
    from core.models.uflow.views import PerViewModel

    sha, description = _uflow_checkpoint(project, revision_id)
    return PerViewModel.from_bytes(project.blobs.get_bytes(sha), description)


class OneModel:
    """A scorer whose one model scores an image of any view."""

    views = None  # any view
    stacked_views: list[str] = []  # a stacked model's view order: it scores each item's views stacked

    def for_view(self, view: str | None):
        return self


class UFlowScorer(OneModel):
    def __init__(self, model) -> None:
        self.model = model
        if model.config.stack_views > 1:
            self.stacked_views = [str(v) for v in model.meta.get("views") or []]

    def score(self, images: list, cancel) -> list[Scored]:
        out = []
        null = self.model.region_null
        for pred in self.model.predict(images, cancel=cancel, batch_size=8):
            t0 = time.perf_counter()
            seg = self.model.segment(pred, k=0.0, null=null)
            timing = dict(pred.timing_ms)
            timing["nfa"] = 1000 * (time.perf_counter() - t0)
            out.append(Scored(pred.anomaly_map, pred.score, seg.labels, seg.regions, timing))
        return out


class PerViewScorer:
    """One U-Flow model per view name: each image is scored by its view's model."""

    stacked_views: list[str] = []

    def __init__(self, models: dict) -> None:
        self.scorers = {view: UFlowScorer(model) for view, model in models.items()}

    @property
    def views(self) -> list[str]:
        return list(self.scorers)

    def for_view(self, view: str | None):
        """The scorer of `view`, or None when the revision has no model for it."""
        return self.scorers.get(view or "")


class ClassicScorer(OneModel):
    def __init__(self, config: dict) -> None:
        from core.models.classic import ClassicConfig

        self.config = ClassicConfig.from_dict(config)

    def score(self, images: list, cancel) -> list[Scored]:
        from core.models.classic import detect

        out = []
        for image in images:
            cancel.check()
            res = detect(image, self.config, cancel=cancel)
            # The map is -log10 NFA; shown on the same [0, 1] scale as U-Flow, full colour at k = 10.
            amap = np.clip(np.asarray(res.anomaly_map, dtype=np.float32) / CLASSIC_FULL_SCALE, 0.0, 1.0)
            out.append(Scored(amap, float(res.score), res.labels, res.regions, dict(res.timing_ms)))
        return out


def load_scorer(project, revision_id: int, tiling: dict | None = None):
    """`tiling`: UFlowConfig fields (`tiling`, `tile_px`) that override the revision's for this scoring."""
    with project.session(readonly=True) as s:
        rev = s.get(ModelRevision, revision_id)
        if rev is None:
            raise ModelError(f"no model revision {revision_id}")
        kind, config = rev.kind, dict(rev.config or {})
    if kind == "uflow":
        per_view = is_per_view(config)
        models = load_per_view(project, revision_id).models if per_view else {"": load_uflow(project, revision_id)}
        for name, value in (tiling or {}).items():
            if name not in ("tiling", "tile_px"):
                raise ModelError(f"unknown tiling option {name!r}")
            for model in models.values():
                setattr(model.config, name, value)
        return PerViewScorer(models) if per_view else UFlowScorer(models[""])
    if kind == "classic":
        return ClassicScorer(config)
    raise ModelError(f"model revision {revision_id} has unknown kind {kind!r}")
