"""`contrario annotators`: who labelled what and when (the audit trail of the label revisions)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from core.errors import ContrarioError, one_line


def register(sub) -> None:
    p = sub.add_parser("annotators", help="who labelled what and when: annotators' work and the label audit trail",
                       description="Without --log: one line per annotator (revisions written, images labelled, "
                       "their current verdicts and masks, first and last edit). With --log: the label revisions "
                       "themselves, newest first (an adjudicated revision names who decided it and what it cites).")
    p.add_argument("project", help="project folder")
    p.add_argument("--batch", help="only the images of this batch")
    p.add_argument("--log", action="store_true", help="list the revisions (the audit trail) instead of the summary")
    p.add_argument("--annotator", metavar="NAME", help="with --log: only this annotator's revisions")
    p.add_argument("--image", type=int, metavar="ID", help="with --log: only the revisions of this image")
    p.add_argument("--since", metavar="WHEN", help="with --log: from this date or time on (ISO 8601, UTC when no zone)")
    p.add_argument("--limit", type=int, metavar="N", help="with --log: at most N revisions")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_annotators)


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ContrarioError(f"--since {text!r}: not a date or time (e.g. 2026-03-01 or 2026-03-01T14:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _when(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def cmd_annotators(args) -> int:
    from core.store.audit import annotator_summaries, audit_trail
    from core.store.project import Project

    if not args.log and (args.annotator or args.image is not None or args.since or args.limit is not None):
        raise ContrarioError("--annotator, --image, --since and --limit go with --log")
    if args.limit is not None and args.limit < 1:
        raise ContrarioError(f"--limit must be at least 1 (got {args.limit})")
    since = _since(args.since)
    with Project.open(args.project) as project:
        if args.log:
            entries = audit_trail(project, annotator=args.annotator, image_id=args.image, batch=args.batch,
                                  since=since, limit=args.limit)
            if args.json:
                print(json.dumps([e.to_dict() for e in entries], indent=1))
                return 0
            if not entries:
                print("no label revisions")
            for e in entries:
                where = f"{e.batch} / {e.item}" + (f" · {e.view}" if e.view else "")
                label = (e.verdict or "no verdict") + (f" ({e.defect_class})" if e.defect_class else "")
                cites = f", cites {', '.join(f'#{c}' for c in e.cites)}" if e.cites else ""
                print(f"{_when(e.created_at)}  {one_line(e.who):<24} rev {e.revision:<3} {label:<20} "
                      f"{'mask' if e.mask else '    '}  {one_line(where)} (image {e.image_id})  "
                      f"{e.source} #{e.annotation_id}{cites}")
            return 0
        summaries = annotator_summaries(project, batch=args.batch)
    if args.json:
        print(json.dumps([s.to_dict() for s in summaries], indent=1))
        return 0
    if not summaries:
        print("no labels yet")
        return 0
    print(f"{'annotator':<24} {'revisions':>9} {'images':>7} {'good':>6} {'defect':>7} {'unsure':>7} {'masks':>6}  "
          f"{'first edit':<19}  {'last edit':<19}")
    for s in summaries:
        name = s.annotator + (f" (by {', '.join(s.by)})" if s.by else "")
        print(f"{one_line(name):<24} {s.revisions:>9} {s.images:>7} {s.current.get('good', 0):>6} "
              f"{s.current.get('defect', 0):>7} {s.current.get('unsure', 0):>7} {s.masks:>6}  "
              f"{_when(s.first_at):<19}  {_when(s.last_at):<19}")
    return 0
