"""What one model input is when scoring: an image alone, an image for its view's model (per-view revisions),
or the views of one item stacked in the revision's order (stacked revisions), whose one result is stored for
every view of the item. Images a revision cannot score are reported by file name, never scored by another
view's model."""

from __future__ import annotations

from dataclasses import dataclass

from core.domain.images import ImageRef, item_names, readable_images
from core.domain.items import group_by, missing_views, views_in_order


@dataclass(frozen=True)
class Unit:
    targets: list[ImageRef]  # the images that get the result
    inputs: list[ImageRef]  # the images decoded for it (an item's views in stacking order, else the target)
    view: str  # the view whose model scores it ("" for a model of every view)


def not_scorable(ref: ImageRef, why: str) -> dict:
    return {"image_id": ref.id, "file": ref.file_name, "view": ref.view, "reason": f"{ref.file_name}: {why}"}


def plan_units(project, scorer, todo: list[ImageRef]) -> tuple[list[Unit], list[dict]]:
    """(units to score, images that cannot be scored with the reason)."""
    if scorer.stacked_views:
        return _stacked_units(project, scorer.stacked_views, todo)
    units, refused = [], []
    for ref in todo:
        if scorer.views is None:
            units.append(Unit([ref], [ref], ""))
        elif scorer.for_view(ref.view) is None:
            refused.append(not_scorable(ref, f"the revision has no model for view {ref.view!r} "
                                             f"(it has {', '.join(repr(v) for v in scorer.views)})"))
        else:
            units.append(Unit([ref], [ref], ref.view))
    return units, refused


def _stacked_units(project, order: list[str], todo: list[ImageRef]) -> tuple[list[Unit], list[dict]]:
    item_ids = {r.item_id for r in todo}
    with project.session(readonly=True) as s:
        every = group_by(readable_images(s, item_ids=item_ids), lambda r: r.item_id)
        names = item_names(s, item_ids)
    units, refused = [], []
    for item_id, wanted in group_by(todo, lambda r: r.item_id).items():
        rows = every.get(item_id, [])
        arranged = views_in_order(rows, order, lambda r: r.view)
        if arranged is None:
            missing = missing_views(rows, order, lambda r: r.view)
            refused += [not_scorable(r, f"item {names.get(item_id, item_id)!r} has no readable "
                                        f"{missing} view; the revision stacks "
                                        f"the views {order}") for r in wanted]
        else:
            units.append(Unit(arranged, arranged, ""))
    return units, refused
