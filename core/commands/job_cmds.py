"""`contrario train`, `contrario infer`, `contrario jobs` and `contrario worker`: queue work, watch it run in a
worker process, serve the queue."""

from __future__ import annotations

import json
import sys

from core.commands.tile_options import add_tile_options, tile_overrides
from core.commands.training_options import add_training_options
from core.domain.enums import JobStatus
from core.errors import one_line


def register(sub) -> None:
    p = sub.add_parser("train", help="train a U-Flow model revision on confirmed-good images")
    p.add_argument("project")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--all-good", action="store_true", help="every image whose current verdict is good (default)")
    src.add_argument("--images", type=int, nargs="+", metavar="ID", help="these image ids")
    p.add_argument("--batch", help="only images of this batch")
    p.add_argument("--shots", type=int, help="use only the first N images (sorted by file name)")
    p.add_argument("--from-revision", type=int, metavar="R", help="fine-tune from this model revision")
    p.add_argument("--backbone", help="feature extractor (default tf_efficientnet_lite0, offline)")
    p.add_argument("--input-size", type=int, help="side of the network input in pixels")
    p.add_argument("--steps", type=int, help="training budget in optimiser steps (default: grows with the training images)")
    add_training_options(p)
    add_tile_options(p)
    views = p.add_mutually_exclusive_group()
    views.add_argument("--per-view", action="store_true",
                       help="one model per view name (lighting or camera), each on that view's good images")
    views.add_argument("--stack-views", action="store_true",
                       help="pixel-aligned views (one camera, several lights): one model on each item's views "
                            "stacked along channels; every item needs every view, all of one size")
    p.add_argument("--training-free", metavar="VARIANT", nargs="?", const="patch_pca",
                   choices=("patch_pca", "gabor", "cnn"),
                   help="no training: add the a contrario detector of the image alone (day zero)")
    p.add_argument("--activate", action="store_true", help="make the new revision the active model")
    p.add_argument("--score", action="store_true",
                   help="then score every image (or --batch) with the new revision in a follow-up job")
    _common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("infer", help="score images with a model revision (incremental)")
    p.add_argument("project")
    p.add_argument("--batch", help="batch name (default: every batch)")
    p.add_argument("--images", type=int, nargs="+", metavar="ID", help="only these image ids")
    p.add_argument("--revision", type=int, metavar="R", help="model revision (default: the active one)")
    p.add_argument("--chunk-images", type=int, metavar="N",
                   help="queue the work as chunks of N images for `contrario worker`s to share, and return")
    add_tile_options(p, scoring=True)
    _common(p)
    p.set_defaults(func=cmd_infer)

    p = sub.add_parser("jobs", help="list, cancel or run the project's background jobs")
    p.add_argument("project")
    p.add_argument("--cancel", type=int, metavar="ID", help="cancel this job")
    p.add_argument("--run", action="store_true", help="run every queued job now, one after the other")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("worker", help="serve the project's queued jobs (on any machine that sees its database "
                       "and blob folder)",
                       description="Takes queued jobs one at a time until stopped (Ctrl-C or SIGTERM requeue the "
                       "job in hand), each in one of this host's compute slots (CONTRARIO_SLOTS, default 1, shared "
                       "with the workbench's and the commands' jobs on this host). Prints one JSON line per event "
                       "on stdout.")
    p.add_argument("project")
    p.add_argument("--max-jobs", type=int, metavar="N", help="stop after N jobs")
    p.add_argument("--until-idle", action="store_true", help="stop when the queue is empty")
    p.add_argument("--poll", type=float, default=1.0, metavar="S", help="seconds between looks at an empty queue")
    p.add_argument("--threads", type=int,
                   help="torch threads (default: every core, or the cores divided by CONTRARIO_SLOTS when above 1)")
    p.add_argument("--stale-after", type=float, default=None, metavar="S",
                   help="take back a job of another host whose heartbeat is older than S seconds (default 120; "
                        "heartbeats every 5 s)")
    p.set_defaults(func=cmd_worker)


def _common(p) -> None:
    p.add_argument("--queue-only", action="store_true", help="queue the job and return (a running GUI picks it up)")
    p.add_argument("--json", action="store_true", help="print the job result as JSON")
    p.add_argument("--threads", type=int, help="torch threads in the worker process")


def _open(path: str):
    from core.store.project import Project

    return Project.open(path)


def cmd_train(args) -> int:
    from core.jobs.payloads import train_payload

    project = _open(args.project)
    try:
        if args.training_free:
            from core.models.revisions import create_training_free_revision

            rev = create_training_free_revision(project, args.training_free, activate=args.activate)
            print(json.dumps({"model_revision_id": rev}) if args.json else f"model revision {rev} (training-free)")
            if not args.score:
                return 0
            from core.jobs.payloads import infer_payload

            return _submit_and_watch(project, "infer", infer_payload(project, batch=args.batch, revision=rev), args)
        payload = train_payload(
            project, image_ids=args.images, batch=args.batch, shots=args.shots,
            parent_revision=args.from_revision, backbone=args.backbone, input_size=args.input_size,
            steps=args.steps, activate=args.activate, tiling=tile_overrides(args),
            views="per_view" if args.per_view else "stacked" if args.stack_views else None, flips=args.flips,
            keep_exposure=args.keep_exposure, scales=args.scales,
            score_after=({"batch": args.batch} if args.batch else {}) if args.score else None,
        )
        return _submit_and_watch(project, "train", payload, args)
    finally:
        project.close()


def cmd_infer(args) -> int:
    from core.jobs.payloads import infer_payload

    project = _open(args.project)
    try:
        payload = infer_payload(project, batch=args.batch, image_ids=args.images, revision=args.revision,
                                tiling=tile_overrides(args))
        if args.chunk_images:
            return _submit_chunks(project, payload, args)
        return _submit_and_watch(project, "infer", payload, args)
    finally:
        project.close()


def _submit_chunks(project, payload: dict, args) -> int:
    from core.errors import ContrarioError
    from core.jobs import queue
    from core.jobs.infer_job import submit_in_chunks

    if args.chunk_images < 1:
        raise ContrarioError(f"--chunk-images must be at least 1 (got {args.chunk_images})")
    parent = submit_in_chunks(project, payload, args.chunk_images)
    if parent is None:
        print(json.dumps({"job": None, "status": JobStatus.DONE}) if args.json else "every image was already scored")
        return 0
    view = queue.get(project, parent)
    print(json.dumps({"job": parent, "status": view.status, "chunks": view.payload["chunks"]}) if args.json
          else f"job {parent} queued as {view.message} (run `contrario worker` to serve them)")
    return 0


def _submit_and_watch(project, kind: str, payload: dict, args) -> int:
    from core.jobs import queue

    job_id = queue.submit(project, kind, payload)
    if args.queue_only:
        print(json.dumps({"job": job_id, "status": JobStatus.QUEUED}) if args.json else f"job {job_id} queued")
        return 0
    view = _watch(project, job_id, args.threads, quiet=args.json)
    follow_up = (view.result or {}).get("infer_job_id") if view.status == JobStatus.DONE else None
    if follow_up:
        print(f"job {view.id} {view.status}: {view.message}", file=sys.stderr)
        view = _watch(project, follow_up, args.threads, quiet=args.json)
    if args.json:
        print(json.dumps({"job": view.id, "status": view.status, "message": view.message,
                          "result": view.result}, indent=2, default=str))
    else:
        print(f"job {view.id} {view.status}: {one_line(view.message)}")
    return 0 if view.status == JobStatus.DONE else 1


def _watch(project, job_id: int, threads: int | None, quiet: bool = False):
    """Run the job in a worker process with a progress bar; Ctrl-C cancels it."""
    from tqdm import tqdm

    from core.jobs import queue
    from core.jobs.runner import WorkerProcess

    bar = tqdm(total=1000, desc=f"job {job_id}", unit="‰", disable=quiet or None, file=sys.stderr,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")

    def on_event(_job: int, event: dict) -> None:
        if "progress" in event:
            bar.n = int(1000 * event["progress"])
            bar.set_postfix_str(event.get("message", "")[:60], refresh=True)

    worker = WorkerProcess(project, job_id, on_event, threads)
    try:
        worker.wait()
    except KeyboardInterrupt:
        queue.request_cancel(project, job_id)
        print("\ncancelling...", file=sys.stderr)
        worker.wait()
    finally:
        bar.close()
    return queue.get(project, job_id)


def cmd_jobs(args) -> int:
    from core.jobs import queue

    project = _open(args.project)
    try:
        if args.cancel is not None:
            view = queue.request_cancel(project, args.cancel)
            print(json.dumps({"job": view.id, "status": view.status}) if args.json
                  else f"job {view.id}: {view.status} ({view.message})")
            return 0
        if args.run:
            if not run_queued(project, quiet=args.json):
                print("no queued job", file=sys.stderr)
            return 0
        queue.recover_interrupted(project)  # a job whose worker died is shown as requeued, not "running"
        jobs = queue.list_jobs(project)
        if args.json:
            print(json.dumps([j.__dict__ for j in jobs], indent=2, default=str))
            return 0
        if not jobs:
            print("no jobs")
        for j in jobs:
            print(f"{j.id:>5}  {j.kind:<6} {j.status:<10} {100 * j.progress:5.1f}%  "
                  f"{j.created_at:%Y-%m-%d %H:%M}  {one_line(j.message or '')}")
        return 0
    finally:
        project.close()


def run_queued(project, quiet: bool = False) -> int:
    """Run every queued job (and those they queue) in worker processes; returns how many ran."""
    from core.jobs import queue

    queue.recover_interrupted(project)
    ran = 0
    while (job_id := queue.next_queued(project)) is not None:
        view = _watch(project, job_id, None, quiet=quiet)
        print(f"job {view.id} {view.kind} {view.status}: {view.message}", file=sys.stderr)
        ran += 1
    return ran


def cmd_worker(args) -> int:
    import os

    from core.errors import ContrarioError
    from core.jobs import worker
    from core.jobs.queue import STALE_AFTER_S
    from core.store.location import resolve

    if args.stale_after is not None and args.stale_after <= 5.0:
        raise ContrarioError(f"--stale-after must exceed the 5 s between heartbeats (got {args.stale_after:g})")
    resolve(args.project)  # a bad path fails here in one line, before torch loads
    if args.threads:
        os.environ["CONTRARIO_THREADS"] = str(args.threads)
    worker.install_signal_handlers()
    worker.set_threads()
    worker.serve(args.project, max_jobs=args.max_jobs, until_idle=args.until_idle, poll_s=args.poll,
                 stale_after_s=STALE_AFTER_S if args.stale_after is None else args.stale_after)
    return 0
