"""Models over the views of items: one U-Flow per view name, or pixel-aligned views stacked into one input.

A per-view revision is one checkpoint: the safetensors hold each view's tensors under the prefix
`views.<i>.` (i: the view's place in `views`) and the JSON names the views and holds each view's own
U-Flow description (config, calibration, region null).
A stacked model is a plain U-Flow checkpoint whose config has `stack_views` > 1 and whose description
names the view order (`views`); its input is the item's views concatenated along channels, in that order
(core.models.preprocess.stack_views, or StackedViews to stack them only when the model loads the item).
"""

from __future__ import annotations

from typing import Any

from core.domain.view_modes import PER_VIEW_FORMAT, is_per_view, view_order
from core.errors import ModelError
from core.models.preprocess import StackedViews, stack_views

__all__ = ["PerViewModel", "StackedViews", "combined_calibration", "stack_views"]


class PerViewModel:
    """One U-Flow model per view name."""

    def __init__(self, models: dict[str, Any]):
        if not models:
            raise ModelError("a per-view model needs at least one view")
        self.models = dict(models)

    @property
    def views(self) -> list[str]:
        return list(self.models)

    def model_for(self, view: str):
        """The sub-model of `view`, or None when the revision was not trained on that view."""
        return self.models.get(view)

    def to_bytes(self) -> tuple[bytes, dict[str, Any]]:
        from safetensors.torch import save

        tensors, described = {}, {}
        for i, (view, model) in enumerate(self.models.items()):
            tensors.update({f"views.{i}.{k}": v for k, v in model.state_tensors().items()})
            described[view] = model.describe()
        first = next(iter(described.values()))
        return save(tensors), {"format": PER_VIEW_FORMAT, "views": self.views, "models": described,
                               "config": first["config"], "backbone": first["backbone"]}

    @classmethod
    def from_bytes(cls, weights: bytes, description: dict[str, Any]) -> "PerViewModel":
        from safetensors.torch import load

        from core.models.uflow.model import UFlowModel

        if not is_per_view(description):
            raise ModelError(f"not a per-view U-Flow checkpoint (format {description.get('format')!r})")
        try:
            state = load(weights)
        except Exception as exc:
            raise ModelError(f"cannot read checkpoint weights ({exc})") from None
        models, backbone = {}, None
        for i, view in enumerate(view_order(description)):
            prefix = f"views.{i}."
            own = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            model = UFlowModel.from_state(own, description["models"][view], backbone=backbone)
            backbone = model.backbone  # the views share one frozen backbone
            models[view] = model
        return cls(models)


def combined_calibration(per_view: dict[str, dict]) -> dict[str, Any]:
    """One revision-level calibration record over the views' own: ok when every view is, warnings by view."""
    warnings = [f"view {view}: {w}" for view, cal in per_view.items() for w in cal.get("warnings", [])]
    return {"ok": all(bool(cal.get("ok")) for cal in per_view.values()), "warnings": warnings, "scales": [],
            "views": per_view}
