"""`contrario init`, `contrario import`, `contrario info`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.domain.enums import ImageStatus
from core.errors import ContrarioError, one_line


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a new project folder")
    p.add_argument("project", help="project folder (created if needed)")
    p.add_argument("--name", help="project name (default: the folder name)")
    p.add_argument("--database", metavar="URL",
                   help="keep the tables in this empty PostgreSQL database (postgresql://USER@HOST/DB) "
                        "instead of project.sqlite; PROJECT gets a project file naming it")
    p.add_argument("--blobs", metavar="DIR", help="with --database: the blob folder (a share every machine sees; "
                   "default PROJECT/blobs)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "import", help="import image files, folders or glob patterns into a batch",
        description="Images are referenced in place (path + sha256); --copy also stores them in the project. "
        "An MVTec-layout folder (train/good, test/<class>, ground_truth/<class>) is imported with its labels.",
    )
    p.add_argument("project", help="project folder")
    p.add_argument("paths", nargs="+", help="files, folders (searched recursively) or glob patterns")
    p.add_argument("--batch", required=True, help="batch name (MVTec: batches NAME/train and NAME/test)")
    p.add_argument("--views", metavar="REGEX",
                   help="group files into items: regex with (?P<item>...) and (?P<view>...), "
                        "searched in the file name without extension")
    p.add_argument("--product-line", help="product line of the batch")
    p.add_argument("--copy", action="store_true", help="also copy the files into the project's blob store")
    p.add_argument("--mvtec", action="store_true", help="the folder is in MVTec layout (detected when omitted)")
    p.add_argument("--no-mvtec", action="store_true", help="import an MVTec-layout folder as plain files")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("info", help="summary of a project: batches, images, annotations, models, jobs")
    p.add_argument("project", help="project folder")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_info)


def cmd_init(args: argparse.Namespace) -> int:
    from core.store.project import Project

    project = Project.create(args.project, name=args.name, database=args.database, blobs=args.blobs)
    try:
        if args.json:
            print(json.dumps({"root": str(project.root), "name": project.name, "database": project.location.describe(),
                              "blobs": str(project.blobs.root), "schema": project.schema_revision()}))
        else:
            print(f"created project {project.name!r} in {project.root}"
                  + ("" if project.location.embedded else f" (database {project.location}, blobs {project.blobs.root})"))
    finally:
        project.close()
    return 0


class _Bar:
    """A tqdm bar on stderr driven by the progress protocol (silent when stderr is not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=1000, unit="‰", file=sys.stderr, leave=False,
                            bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def __call__(self, fraction: float, message: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(message, refresh=False)
            self.bar.update(int(fraction * 1000) - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_import(args: argparse.Namespace) -> int:
    from core.io.importer import import_paths
    from core.io.mvtec import import_mvtec, is_mvtec_folder
    from core.store.project import Project

    project = Project.open(args.project)
    bar = _Bar(sys.stderr.isatty())
    try:
        mvtec = args.mvtec or (not args.no_mvtec and len(args.paths) == 1 and is_mvtec_folder(args.paths[0]))
        if mvtec:
            if len(args.paths) != 1 or not Path(args.paths[0]).is_dir():
                raise ContrarioError("--mvtec takes exactly one folder")
            if args.views:
                raise ContrarioError("--views cannot be used with an MVTec-layout folder")
            report = import_mvtec(project, args.paths[0], args.batch, progress=bar,
                                  product_line=args.product_line, copy=args.copy)
        else:
            report = import_paths(project, args.paths, args.batch, views_regex=args.views,
                                  product_line=args.product_line, progress=bar, copy=args.copy)
    finally:
        bar.close()
        project.close()
    if args.json:
        out = report.to_dict()
        out["mvtec"] = bool(mvtec)
        print(json.dumps(out, indent=1))
        return import_exit_code(report)
    else:
        rate = (report.added + report.skipped_duplicates + len(report.failed)) / max(report.elapsed_s, 1e-9)
        print(f"batch {', '.join(report.batches) or args.batch}: {report.added} images added, "
              f"{report.skipped_duplicates} already in the project, {len(report.failed)} failed "
              f"({report.elapsed_s:.1f} s, {rate:.0f} files/s)")
        if report.annotations_added:
            print(f"{report.annotations_added} ground-truth annotations added")
        for w in report.warnings[:20]:
            print(f"warning: {one_line(w)}")
        if len(report.warnings) > 20:
            print(f"... and {len(report.warnings) - 20} more warnings")
        for path, reason in report.failed:
            print(f"failed: {one_line(path)}: {one_line(reason)}")
    return import_exit_code(report)


def import_exit_code(report) -> int:
    """1, with the reason on stderr, when a path named nothing or could not be read, or nothing was imported."""
    problems = []
    if report.not_read:
        names = ", ".join(one_line(p) for p, _ in report.not_read[:3]) + (" ..." if len(report.not_read) > 3 else "")
        problems.append(f"{len(report.not_read)} paths named nothing or could not be read ({names})")
    if report.added + report.skipped_duplicates == 0:
        files_failed = len(report.failed) - len(report.not_read)
        problems.append(f"nothing imported: every one of the {files_failed} files failed" if files_failed
                        else "nothing imported: no image files found")
    if not problems:
        return 0
    print(f"contrario import: error: {'; '.join(problems)}", file=sys.stderr)
    return 1


def project_summary(project) -> dict:
    from sqlalchemy import func, select

    from core.labels.revisions import current_annotations
    from core.store.schema import Annotation, Batch, Image, Item, Job, ModelRevision

    with project.session(readonly=True) as s:
        counts = {
            (bid, status): n
            for bid, status, n in s.execute(
                select(Item.batch_id, Image.status, func.count(Image.id))
                .join(Image, Image.item_id == Item.id).group_by(Item.batch_id, Image.status)
            )
        }
        items = dict(s.execute(select(Item.batch_id, func.count(Item.id)).group_by(Item.batch_id)).all())
        batches = [
            {
                "name": b.name, "product_line": b.product_line, "source_folder": b.source_folder,
                "imported_at": b.imported_at.isoformat() if b.imported_at else None,
                "items": items.get(b.id, 0),
                "images_ok": counts.get((b.id, ImageStatus.OK), 0), "images_failed": counts.get((b.id, ImageStatus.FAILED), 0),
            }
            for b in s.scalars(select(Batch).order_by(Batch.id))
        ]
        current = current_annotations(s)
        per_verdict: dict[str, int] = {}
        per_annotator: dict[str, int] = {}
        for a in current:
            per_verdict[a.verdict or "none"] = per_verdict.get(a.verdict or "none", 0) + 1
            per_annotator[a.annotator] = per_annotator.get(a.annotator, 0) + 1
        jobs = dict(s.execute(select(Job.status, func.count(Job.id)).group_by(Job.status)).all())
        return {
            "root": str(project.root),
            "name": project.name,
            "database": project.location.describe(),
            "blobs": str(project.blobs.root),
            "schema": project.schema_revision(),
            "batches": batches,
            "images": {"ok": sum(b["images_ok"] for b in batches),
                       "failed": sum(b["images_failed"] for b in batches)},
            "annotations": {
                "revisions": s.scalar(select(func.count(Annotation.id))) or 0,
                "current": len(current), "by_verdict": per_verdict, "by_annotator": per_annotator,
            },
            "models": s.scalar(select(func.count(ModelRevision.id))) or 0,
            "jobs": jobs,
        }


def cmd_info(args: argparse.Namespace) -> int:
    from core.jobs.queue import recover_interrupted
    from core.store.project import Project

    project = Project.open(args.project)
    try:
        recover_interrupted(project)  # jobs whose worker died count as queued, not running
        info = project_summary(project)
    finally:
        project.close()
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"project {info['name']!r} at {info['root']} (schema {info['schema']})")
    print(f"database: {info['database']}; blobs: {info['blobs']}")
    print(f"images: {info['images']['ok']} ok, {info['images']['failed']} failed, in {len(info['batches'])} batches")
    for b in info["batches"]:
        line = f"  {b['name']}: {b['items']} items, {b['images_ok']} images ok, {b['images_failed']} failed"
        print(line + (f" [{b['product_line']}]" if b["product_line"] else ""))
    a = info["annotations"]
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(a["by_verdict"].items())) or "none"
    print(f"annotations: {a['current']} current ({verdicts}); {a['revisions']} revisions in all")
    for who, n in sorted(a["by_annotator"].items()):
        print(f"  {who}: {n}")
    print(f"models: {info['models']}")
    jobs = ", ".join(f"{k} {v}" for k, v in sorted(info["jobs"].items())) or "none"
    print(f"jobs: {jobs}")
    return 0
