"""How a U-Flow model revision treats the views of items, read from its stored description (no torch).

- one model for every image (no `views`);
- per view: format PER_VIEW_FORMAT, one sub-model per name in `views`;
- stacked: a plain checkpoint whose config has `stack_views` > 1, the views concatenated in `views` order.
"""

from __future__ import annotations

PER_VIEW_FORMAT = "contrario-uflow-per-view/1"
PER_VIEW = "per_view"
STACKED = "stacked"
VIEW_MODES = (PER_VIEW, STACKED)


def is_per_view(description: dict | None) -> bool:
    return bool(description) and description.get("format") == PER_VIEW_FORMAT


def is_stacked(description: dict | None) -> bool:
    return int(((description or {}).get("config") or {}).get("stack_views") or 1) > 1


def view_mode(description: dict | None) -> str | None:
    """PER_VIEW, STACKED, or None for one model on every image."""
    return PER_VIEW if is_per_view(description) else STACKED if is_stacked(description) else None


def view_order(description: dict | None) -> list[str]:
    """The views a revision names (its sub-models, or the stacking order); [] for one model on every image."""
    return [str(v) for v in (description or {}).get("views") or []]
