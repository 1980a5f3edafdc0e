"""Few-shot table on MTD: image AUROC, pixel AUROC and training seconds for 1, 2, 5, 10, 20 and all
training images, through the path the GUI uses: train jobs and infer jobs run by worker processes, then
core.models.revisions.revision_figures on the project's labels (ground truth imported with the MVTec split).

    .venv/bin/python benchmarks/fewshot_table.py [--sizes 1,2,5,10,20,all] [--threads 2] [--project DIR]

The default UFlowConfig is used (the job's config is empty). Prints a Markdown table; CPU heavy (minutes
per row on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.io.mvtec import import_mvtec  # noqa: E402
from core.jobs import queue  # noqa: E402
from core.jobs.payloads import infer_payload, train_payload  # noqa: E402
from core.jobs.runner import run_in_worker  # noqa: E402
from core.models.revisions import revision_figures  # noqa: E402
from core.store.project import Project, is_project  # noqa: E402
from core.store.schema import Batch, ModelRevision  # noqa: E402

MTD = ROOT.parent / "shared" / "data" / "mtd" / "magnetic_tile"
NAME = "mtd"


def open_project(folder: Path, data: Path) -> Project:
    if is_project(folder):
        return Project.open(folder)
    project = Project.create(folder)
    t0 = time.perf_counter()
    report = import_mvtec(project, data, NAME)
    print(f"imported {report.added} images in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return project


def test_image_ids(project) -> list[int]:
    from sqlalchemy import select

    from core.store.schema import Image, Item

    with project.session(readonly=True) as s:
        return list(s.scalars(select(Image.id).join(Item).join(Batch).where(Batch.name == f"{NAME}/test")))


def run_row(project, shots: int | None, threads: int) -> dict:
    payload = train_payload(project, batch=f"{NAME}/train", shots=shots)
    train_view = run_in_worker(project, queue.submit(project, "train", payload), threads=threads)
    if train_view.status != "done":
        raise SystemExit(f"training with {shots} images failed: {train_view.message}")
    rev_id = train_view.result["model_revision_id"]
    infer_view = run_in_worker(project, queue.submit(project, "infer", infer_payload(
        project, batch=f"{NAME}/test", revision=rev_id)), threads=threads)
    if infer_view.status != "done":
        raise SystemExit(f"inference of revision {rev_id} failed: {infer_view.message}")
    fig = revision_figures(project, rev_id, k=0.0, image_ids=test_image_ids(project))
    with project.session(readonly=True) as s:
        rev = s.get(ModelRevision, rev_id)
        training = dict((rev.figures or {}).get("training") or {})
        calibration_ok = (rev.calibration or {}).get("ok")
    return {"shots": shots, "revision": rev_id, "n_train": training.get("n_images"),
            "n_holdout": training.get("n_holdout"), "train_seconds": training.get("seconds"),
            "job_seconds": train_view.result.get("seconds"), "infer_seconds": infer_view.result.get("seconds"),
            "image_auroc": fig.image_auroc, "pixel_auroc": fig.pixel_auroc, "n_test": fig.n_evaluated,
            "regions_per_good_image": fig.regions_per_good_image, "good_flagged": fig.good_flagged,
            "defect_flagged": fig.defect_flagged, "calibration_ok": calibration_ok}


def markdown(rows: list[dict]) -> str:
    f = lambda v, d=3: "—" if v is None else f"{v:.{d}f}"
    lines = ["| training images | used for training (+ held out) | image AUROC | pixel AUROC | regions / good image (k=0) "
             "| training s | scoring s (test set) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        label = "all" if r["shots"] is None else str(r["shots"])
        lines.append(f"| {label} | {r['n_train']} (+{r['n_holdout']}) | {f(r['image_auroc'])} | {f(r['pixel_auroc'])} "
                     f"| {f(r['regions_per_good_image'], 2)} | {f(r['train_seconds'], 0)} | {f(r['infer_seconds'], 0)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=MTD)
    parser.add_argument("--sizes", default="1,2,5,10,20,all", help="comma-separated shot counts; 'all' = every image")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--project", type=Path, help="project folder to create or reuse (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    sizes = [None if s.strip() == "all" else int(s) for s in args.sizes.split(",") if s.strip()]
    tmp = None
    folder = args.project
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="fewshot_")
        folder = Path(tmp.name) / "project"
    project = open_project(folder, args.data)
    rows = []
    try:
        for shots in sizes:
            t0 = time.perf_counter()
            rows.append(run_row(project, shots, args.threads))
            print(f"{shots or 'all'} images: {json.dumps(rows[-1])} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))
    finally:
        project.close()
        if tmp is not None:
            tmp.cleanup()
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
