"""An item's model outcome from its views' outcomes, and grouping images by item.

An item's score is the highest score of its scored views; the model suggests "defect" at k when any view
has a region with log10 NFA <= -k, and names those views. An item's label is "defect" when any of its
views is labelled defect, "good" when every view is labelled good, else none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence, TypeVar

from core.domain.enums import Verdict

T = TypeVar("T")


@dataclass(frozen=True)
class ViewOutcome:
    """One view's scoring: its score and the log10 NFA of its stored regions."""

    view: str
    score: float
    region_nfas: tuple[float, ...]

    def flagged(self, k: float) -> bool:
        return any(v <= -k for v in self.region_nfas)


@dataclass(frozen=True)
class ItemOutcome:
    views: tuple[ViewOutcome, ...]

    @property
    def score(self) -> float:
        return max(v.score for v in self.views)

    def flagged_views(self, k: float) -> list[str]:
        return [v.view for v in self.views if v.flagged(k)]

    def suggestion(self, k: float) -> str:
        """"defect" when any view has a region at k, else "good"."""
        return Verdict.DEFECT if self.flagged_views(k) else Verdict.GOOD

    def best_log10_nfa(self) -> float | None:
        values = [n for v in self.views for n in v.region_nfas]
        return min(values) if values else None


def item_outcome(views: Iterable[ViewOutcome]) -> ItemOutcome | None:
    """The combination of the scored views of one item (None when none is scored)."""
    scored = tuple(views)
    return ItemOutcome(scored) if scored else None


def item_label(verdicts: Sequence[str | None]) -> str | None:
    """The item's label from its views' labels."""
    if any(v == Verdict.DEFECT for v in verdicts):
        return Verdict.DEFECT
    if verdicts and all(v == Verdict.GOOD for v in verdicts):
        return Verdict.GOOD
    return None


def group_by(rows: Iterable[T], key) -> dict:
    """Rows grouped by `key(row)` (an item id, a view name), in first-seen order."""
    out: dict = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def views_in_order(rows: Sequence[T], order: Sequence[str], view_of) -> list[T] | None:
    """The rows of one item arranged in `order` by view, or None when one of the views is missing."""
    found: Mapping[str, T] = {view_of(r): r for r in rows}
    if any(v not in found for v in order):
        return None
    return [found[v] for v in order]


def missing_views(rows: Sequence[T], order: Sequence[str], view_of) -> str:
    """The views of `order` an item's rows lack, as "'a' and no 'b'" for a message."""
    missing = sorted(set(order) - {view_of(r) for r in rows})
    return " and no ".join(repr(v) for v in missing)
