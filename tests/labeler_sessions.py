"""Scripted labeler sessions: several processes label one project at once, each as its own annotator.

Used by tests/store/test_concurrent_labelers.py (small) and benchmarks/pg_labelers.py (1,000 verdicts and
200 masks each). A session writes through the workbench's own store calls, one transaction per action as a
person at the workbench would: a verdict with `app.store_access.save_verdict` (G / D / U), a painted mask with
`core.labels.editing.save_mask` (what label mode's save runs). Run as a process:

    python tests/labeler_sessions.py PROJECT NAME VERDICTS MASKS GO_FILE LOG.json

it prints "ready" once imported, waits for GO_FILE (so that every session starts at once), labels, and writes
its log: every action with the annotation id it got, the verdict, the sha256 of the mask, its latency, and any
error. `check` then compares the logs with the database: nothing lost, revisions chained, masks intact.

The plan is deterministic: image k (in id order) is a defect when k % 5 == 0, with a disc at a spot of its
own; every annotator marks each defect image defect and paints the disc (its own radius and a jitter of a few
pixels), and calls a good image good, but "defect" or "unsure" now and then (its own random draws), so the
agreement figures are neither perfect nor empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def is_defect(k: int) -> bool:
    return k % 5 == 0


def disc_mask(shape: tuple[int, int], k: int, name: str) -> np.ndarray:
    """The disc annotator `name` paints on defect image k (class id 1)."""
    h, w = shape
    spot = np.random.default_rng(k)  # the defect is where it is, whoever paints it
    cy, cx = int(spot.integers(h // 4, 3 * h // 4)), int(spot.integers(w // 4, 3 * w // 4))
    hand = np.random.default_rng([k, zlib.crc32(name.encode())])
    cy, cx = cy + int(hand.integers(-2, 3)), cx + int(hand.integers(-2, 3))
    r = max(2, min(h, w) // 10 + int(hand.integers(-1, 2)))
    yy, xx = np.ogrid[:h, :w]
    return ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)


def plan(image_ids: list[int], name: str, n_verdicts: int, n_masks: int) -> list[tuple[str, int, int, str]]:
    """(action, k, image id, verdict) in this annotator's order: its own shuffle of the images, a mask painted
    right after the verdict of a defect image (the first `n_masks` of them)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    order = rng.permutation(len(image_ids))
    steps: list[tuple[str, int, int, str]] = []
    masks = 0
    for n in range(n_verdicts):
        k = int(order[n % len(order)])
        if is_defect(k):
            verdict = "defect"
        else:
            draw = rng.random()
            verdict = "defect" if draw < 0.05 else "unsure" if draw < 0.08 else "good"
        steps.append(("verdict", k, image_ids[k], verdict))
        if is_defect(k) and masks < n_masks:
            steps.append(("mask", k, image_ids[k], "defect"))
            masks += 1
    return steps


def prepare(project) -> None:
    """The defect class the painted masks use (id 1), as label mode creates it on first use."""
    from core.labels.revisions import ensure_defect_class

    with project.session() as s:
        ensure_defect_class(s, "defect")


def session(project_root: str, name: str, n_verdicts: int, n_masks: int, go_file: str, log_path: str) -> None:
    sys.path.insert(0, str(REPO))
    from sqlalchemy import select

    from app.store_access import save_verdict
    from core.labels.editing import save_mask
    from core.store.project import Project
    from core.store.schema import Image

    project = Project.open(project_root)
    with project.session(readonly=True) as s:
        images = [(i, (h, w)) for i, h, w in s.execute(select(Image.id, Image.height, Image.width).order_by(Image.id))]
    ids = [i for i, _shape in images]
    steps = plan(ids, name, n_verdicts, n_masks)
    print("ready", flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.01)
    log, t_start = [], time.perf_counter()
    for action, k, image_id, verdict in steps:
        entry = {"action": action, "k": k, "image_id": image_id, "verdict": verdict}
        t0 = time.perf_counter()
        try:
            if action == "verdict":
                entry["annotation_id"] = save_verdict(project, image_id, name, verdict)
            else:
                mask = disc_mask(images[k][1], k, name)
                entry["mask_sha256"] = hashlib.sha256(mask.tobytes()).hexdigest()
                entry["annotation_id"] = save_mask(project, image_id, name, mask, verdict=verdict)
        except Exception as exc:  # counted as lost by `check`: the session goes on like a person would
            entry["error"] = f"{type(exc).__name__}: {exc}"
        entry["ms"] = 1000 * (time.perf_counter() - t0)
        log.append(entry)
    project.close()
    Path(log_path).write_text(json.dumps({"annotator": name, "seconds": time.perf_counter() - t_start,
                                          "actions": log}))


def run_sessions(project_root: Path, names: list[str], n_verdicts: int, n_masks: int, work: Path,
                 timeout_s: float = 600.0) -> dict:
    """Run one session process per name at once; returns {"seconds", "logs", "hung", "failed"}.

    A session still running after `timeout_s` (a deadlock, a lock never released) is killed and named in "hung".
    """
    work.mkdir(parents=True, exist_ok=True)
    go = work / "go"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    procs = {}
    for name in names:
        cmd = [sys.executable, "-P", str(Path(__file__).resolve()), str(project_root), name, str(n_verdicts),
               str(n_masks), str(go), str(work / f"{name}.json")]
        procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                       cwd=REPO)
    for name, proc in procs.items():
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"labeler {name} did not start: {line} {proc.stderr.read()[-2000:]}")
    t0 = time.perf_counter()
    go.touch()
    hung, failed = [], {}
    for name, proc in procs.items():
        try:
            _out, err = proc.communicate(timeout=max(1.0, timeout_s - (time.perf_counter() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            hung.append(name)
            continue
        if proc.returncode != 0:
            failed[name] = err[-2000:]
    seconds = time.perf_counter() - t0
    logs = {name: json.loads((work / f"{name}.json").read_text()) for name in names
            if (work / f"{name}.json").exists()}
    return {"seconds": seconds, "logs": logs, "hung": hung, "failed": failed}


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def check(project, run: dict) -> dict:
    """Compare the sessions' logs with the database; returns the figures and every discrepancy found."""
    from sqlalchemy import select

    from core.labels.findings import find_findings
    from core.store.schema import Annotation

    problems: list[str] = [f"{name}: hung (killed after the timeout)" for name in run["hung"]]
    problems += [f"{name}: exited with an error: {err}" for name, err in run["failed"].items()]
    figures: dict = {"seconds": round(run["seconds"], 2), "annotators": {}}
    with project.session(readonly=True) as s:
        rows = {a.id: a for a in s.scalars(select(Annotation))}
    for name, log in run["logs"].items():
        actions = log["actions"]
        errors = [a for a in actions if "error" in a]
        problems += [f"{name}: {a['action']} of image {a['image_id']} failed: {a['error']}" for a in errors[:5]]
        mine = sorted((a for a in rows.values() if a.annotator == name), key=lambda a: (a.image_id, a.revision))
        logged = {a["annotation_id"] for a in actions if "annotation_id" in a}
        stored = {a.id for a in mine}
        if logged - stored:
            problems.append(f"{name}: {len(logged - stored)} revisions written but not in the database")
        if stored - logged:
            problems.append(f"{name}: {len(stored - logged)} revisions in the database that it never wrote")
        last: dict[int, Annotation] = {}
        for a in mine:  # revisions of one image: 1, 2, 3 ... each citing the one before
            prev = last.get(a.image_id)
            if a.revision != (prev.revision + 1 if prev else 1) or a.parent_id != (prev.id if prev else None):
                problems.append(f"{name}: image {a.image_id} revision {a.revision} breaks the chain")
            last[a.image_id] = a
        final = {}
        for a in actions:
            if "annotation_id" in a:
                final[a["image_id"]] = a["verdict"]
        wrong = [i for i, v in final.items() if i not in last or last[i].verdict != v]
        if wrong:
            problems.append(f"{name}: {len(wrong)} images whose current verdict is not the last one given")
        masks_ok = 0
        for a in actions:
            if a["action"] != "mask" or "annotation_id" not in a:
                continue
            row = rows.get(a["annotation_id"])
            got = project.blobs.get_array(row.mask_blob) if row is not None and row.mask_blob else None
            if got is None or hashlib.sha256(np.ascontiguousarray(got, dtype=np.uint8).tobytes()).hexdigest() != a["mask_sha256"]:
                problems.append(f"{name}: the mask of image {a['image_id']} is missing or changed")
            else:
                masks_ok += 1
        verdict_ms = [a["ms"] for a in actions if a["action"] == "verdict"]
        mask_ms = [a["ms"] for a in actions if a["action"] == "mask"]
        figures["annotators"][name] = {
            "verdicts": len(verdict_ms), "masks": len(mask_ms), "masks_intact": masks_ok, "errors": len(errors),
            "revisions_stored": len(stored), "seconds": round(log["seconds"], 2),
            "actions_per_s": round(len(actions) / max(log["seconds"], 1e-9), 1),
            "verdict_ms_p50": round(_percentile(verdict_ms, 50), 2), "verdict_ms_p95": round(_percentile(verdict_ms, 95), 2),
            "mask_ms_p50": round(_percentile(mask_ms, 50), 2), "mask_ms_p95": round(_percentile(mask_ms, 95), 2),
            "ms_max": round(max(verdict_ms + mask_ms, default=0.0), 2),
        }
    report = find_findings(project)
    figures["agreement"] = [
        {"batch": a.batch, "annotators": a.annotators, "images": a.images, "method": a.method,
         "kappa": None if a.kappa is None else round(a.kappa, 4),
         "observed": None if a.observed is None else round(a.observed, 4),
         "pairs": [{"a": p.a, "b": p.b, "images": p.images, "kappa": round(p.kappa, 4)} for p in a.pairs]}
        for a in report.agreement
    ]
    ious = [i.iou for i in report.images if i.iou is not None]
    figures["mask_iou_mean"] = round(float(np.mean(ious)), 4) if ious else None
    figures["images_with_masks_compared"] = len(ious)
    if project.dialect == "postgresql":
        from sqlalchemy import text

        with project.engine.connect() as conn:
            figures["deadlocks"] = int(conn.execute(text(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar() or 0)
        if figures["deadlocks"]:
            problems.append(f"the server counted {figures['deadlocks']} deadlocks")
    figures["problems"] = problems
    return figures


if __name__ == "__main__":
    session(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
