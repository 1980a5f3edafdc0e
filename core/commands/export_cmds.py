"""`contrario export` (MVTec, COCO, CSV, agreement report) and `contrario findings` (label disagreements)."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("export", help="export labels: MVTec layout, COCO JSON, CSV tables or an agreement report")
    p.add_argument("project")
    p.add_argument("--format", required=True, choices=["mvtec", "coco", "csv", "report"])
    p.add_argument("--out", required=True, metavar="DIR", help="destination folder (replaced atomically)")
    p.add_argument("--batch", metavar="NAME", help="only this batch")
    p.add_argument("--annotator", metavar="NAME", help="this annotator's labels (default: adjudicated, else newest)")
    p.add_argument("--coco-encoding", choices=["rle", "polygon"], default="rle", help="COCO segmentation encoding")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("findings", help="list label disagreements (annotators, views, model vs labels)")
    p.add_argument("project")
    p.add_argument("--batch", metavar="NAME", help="only this batch")
    p.add_argument("--k-good", type=float, default=2.0, help="flag good labels with a region at this k (default 2)")
    p.add_argument("--iou", type=float, default=0.5, help="flag masks overlapping below this IoU (default 0.5)")
    p.add_argument("--json", action="store_true", help="print JSON (findings, agreement per batch, per image)")
    p.set_defaults(func=cmd_findings)


def cmd_export(args) -> int:
    from core.io.exports import export
    from core.store.project import Project

    with Project.open(args.project) as project:
        summary = export(project, args.format, args.out, batch=args.batch, annotator=args.annotator,
                         coco_encoding=args.coco_encoding)
    if args.json:
        print(json.dumps({"format": summary.format, "out": str(summary.out.absolute()), "images": summary.images,
                          "annotations": summary.annotations, "model_revision_id": summary.model_revision_id,
                          "skipped": [{"image_id": i, "name": summary.skipped_names.get(i), "why": w}
                                      for i, w in summary.skipped]}, indent=1))
    else:
        what = {"coco": "regions", "csv": "region rows", "report": "findings"}.get(summary.format)
        line = f"exported {summary.images} images" + (f", {summary.annotations} {what}" if what else "")
        model = f", model revision {summary.model_revision_id}" if summary.model_revision_id is not None else ""
        print(f"{line} ({summary.format}{model}) to {summary.out}")
        if summary.skipped:
            print(f"skipped {len(summary.skipped)} images:", file=sys.stderr)
            for line in summary.skipped_lines()[:20]:
                print(f"  {line}", file=sys.stderr)
            if len(summary.skipped) > 20:
                print(f"  ... and {len(summary.skipped) - 20} more", file=sys.stderr)
    return 0


def cmd_findings(args) -> int:
    from core.labels.findings import find_findings
    from core.store.project import Project

    with Project.open(args.project) as project:
        report = find_findings(project, batch=args.batch, k_good=args.k_good, iou_threshold=args.iou)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, default=str))
        return 0
    for a in report.agreement:
        kappa = "–" if a.kappa is None else f"{a.kappa:.3f}"
        print(f"batch {a.batch}: {len(a.annotators)} annotators, {a.images} images compared, {a.method} kappa {kappa}")
    print("model revision " + (str(report.model_revision_id) if report.model_revision_id is not None else "none"))
    if report.items:
        flagged = [i for i in report.items if i.suggestion == "defect"]
        print(f"{len(report.items)} multi-view items scored (score: the highest view's; defect when any view has a "
              f"region at k = {args.k_good:g}): {len(flagged)} suggested defect")
        for i in flagged:
            print(f"  {i.batch} / {i.item}: score {i.score:.3f}, regions on {', '.join(i.flagged_views)}"
                  + (f" (labelled {i.label})" if i.label else ""))
    if not report.findings:
        print("no findings")
        return 0
    print(f"{len(report.findings)} findings (most severe first):")
    for f in report.findings:
        print(f"  [{f.level:6s} {f.severity:.2f}] {f.kind:22s} {f.batch}  {f.reason}")
    return 0
