"""`contrario models`: the model revisions with their figures, lineage and which is active; promotion."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("models", help="list model revisions (figures, lineage, active) or promote one")
    p.add_argument("project")
    p.add_argument("--promote", type=int, metavar="R", help="make revision R the active model first")
    p.add_argument("--k", type=float, default=0.0, help="figures at this k: a region with NFA <= 10^-k (default 0)")
    p.add_argument("--pixels", action="store_true", help="also compute pixel AUROC (reads the stored maps)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_models)


def describe(project, k: float = 0.0, with_pixels: bool = False) -> dict:
    from core.models import revisions as revs

    out = []
    for info in revs.list_revisions(project):
        figures = revs.revision_figures(project, info.id, k=k, with_pixels=with_pixels).to_dict()
        figures.pop("decisions")
        out.append({
            "id": info.id, "name": info.name, "kind": info.kind, "active": info.active,
            "parent_id": info.parent_id, "lineage": revs.lineage(project, info.id),
            "created_at": info.created_at.isoformat() if info.created_at else None,
            "backbone": info.backbone, "input_size": info.input_size, "train_steps": info.train_steps,
            "image_flips": info.image_flips, "orientations": list(info.orientations),
            **_layout_fields(info, own=info.view_mode != "per_view"),
            "exposure_reference": list(info.exposure_reference) or None,
            "dataset_revision_id": info.dataset_revision_id, "n_train": info.n_train,
            "duration_s": info.duration_s, "calibration": info.calibration_text,
            "calibration_ok": info.calibration_ok, "calibration_warnings": list(info.calibration_warnings),
            "region_calibration": info.region_calibration,
            "n_results": info.n_results, "figures": figures, "view_mode": info.view_mode, "views": list(info.views),
            "per_view": [_view_entry(project, info.id, v, k, with_pixels) for v in info.per_view],
        })
    return {"active_model_revision_id": revs.active_revision(project), "revisions": out}


def _layout_fields(info, own: bool = True) -> dict:
    """The flow's layout; a per-view revision has one per view (in its per_view entries), none of its own."""
    return {"scale_context": info.scale_context if own else None,
            "scale_context_chosen": info.scale_context_chosen if own else None,
            "layout_sample": info.layout_sample if own else None}


def _view_entry(project, revision_id: int, view, k: float, with_pixels: bool) -> dict:
    """One view's sub-model of a per-view revision, with its figures on that view's images."""
    from core.models import revisions as revs

    figures = revs.revision_figures(project, revision_id, k=k, with_pixels=with_pixels, view=view.view).to_dict()
    figures.pop("decisions")
    return {"view": view.view, "n_train": view.n_train, "n_results": view.n_results,
            "calibration": view.calibration_text, "calibration_ok": view.calibration_ok,
            "calibration_warnings": list(view.calibration_warnings), **_layout_fields(view), "figures": figures}


def _figure_cells(r: dict) -> str:
    f = r["figures"]
    return (f"{_fmt(r['n_train']):>5} {r['n_results']:>6} {_fmt(f['image_auroc']):>9} {_fmt(f['pixel_auroc']):>9} "
            f"{_fmt(f['good_flagged']):>12} {_fmt(f['defect_flagged']):>12}  {r['calibration']}")


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def cmd_models(args) -> int:
    import sys

    from core.models import revisions as revs
    from core.store.project import Project

    with Project.open(args.project) as project:
        if args.promote is not None:
            previous = revs.promote(project, args.promote)
            print(f"model revision {args.promote} is active (was {_fmt(previous)}); "
                  f"score with it: contrario infer {args.project}", file=sys.stderr)
        report = describe(project, args.k, args.pixels)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return 0
    if not report["revisions"]:
        print("no model revision yet: train one (contrario train)")
        return 0
    print(f"{'':2}{'id':>4}  {'name':<34} {'lineage':<12} {'train':>5} {'scored':>6} {'img AUROC':>9} "
          f"{'pix AUROC':>9} {'good flagged':>12} {'defect found':>12}  calibration")
    for r in report["revisions"]:
        print(f"{'*' if r['active'] else ' ':2}{r['id']:>4}  {r['name'][:34]:<34} "
              f"{'<'.join(map(str, r['lineage'])):<12} {_figure_cells(r)}")
        for v in r["per_view"]:  # a per-view revision: each view's model on that view's images
            print(f"{'':6}  {'  view ' + v['view'][:28]:<34} {'':<12} {_figure_cells(v)}")
    print(f"* active; figures at k = {args.k:g} on labelled images outside each revision's training set")
    return 0
