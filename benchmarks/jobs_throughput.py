"""Scoring MTD test images end to end through the job system, against the bare in-process pipeline.

    .venv/bin/python benchmarks/jobs_throughput.py [--mtd ../shared/data/mtd/magnetic_tile] [--shots 16]

Imports the dataset into a fresh project, trains a model with a training job, then scores the test batch
with an inference job (worker process: model load, decode, features, flow, map, NFA, storing maps and
regions). The bare pipeline is the same model's predict + NFA segmentation on the same files in this
process, storing nothing (what `contrario eval` does per image). Prints images per second for both and the
job-system overhead.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtd", default=str(REPO.parent / "shared" / "data" / "mtd" / "magnetic_tile"))
    ap.add_argument("--shots", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch
    from sqlalchemy import select

    from core.io.images import read_image
    from core.io.mvtec import import_mvtec
    from core.jobs import queue
    from core.jobs.payloads import infer_payload, train_payload
    from core.jobs.runner import run_in_worker
    from core.jobs.scorers import load_uflow
    from core.nfa import segment
    from core.store.project import Project
    from core.store.schema import Batch, Image, Item

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "bench")
        t0 = time.perf_counter()
        import_mvtec(project, args.mtd, "mtd")
        import_s = time.perf_counter() - t0

        job = queue.submit(project, "train", train_payload(project, batch="mtd/train", shots=args.shots))
        trained = run_in_worker(project, job, threads=args.threads)
        assert trained.status == "done", trained.message

        job = queue.submit(project, "infer", infer_payload(project, batch="mtd/test"))
        t0 = time.perf_counter()
        scored = run_in_worker(project, job, threads=args.threads)
        job_s = time.perf_counter() - t0
        assert scored.status == "done", scored.message
        n = scored.result["scored"]

        with project.session() as s:
            paths = list(s.scalars(select(Image.original_path).join(Item).join(Batch)
                                   .where(Batch.name == "mtd/test").order_by(Image.id)))
        model = load_uflow(project, trained.result["model_revision_id"])
        t0 = time.perf_counter()
        decoded = [read_image(p) for p in paths]
        for start in range(0, len(decoded), 8):
            for pred in model.predict(decoded[start:start + 8], batch_size=8):
                segment(pred.latents, pred.input_shape, k=0.0)
        bare_s = time.perf_counter() - t0
        project.close()

    figures = {
        "n_images": n,
        "import_seconds_all_mtd": round(import_s, 2),
        "job_seconds": round(job_s, 2),
        "job_images_per_second": round(n / job_s, 2),
        "bare_seconds": round(bare_s, 2),
        "bare_images_per_second": round(len(paths) / bare_s, 2),
        "job_overhead": round(job_s / bare_s - 1.0, 3),
        # what is left once the fixed per-job costs (worker start, model load) are taken out
        "per_image_overhead": round((scored.result["seconds"] - scored.result["model_load_seconds"]) / bare_s - 1.0, 3),
        "worker_start_seconds": round(job_s - scored.result["seconds"], 2),
        "worker_timing": scored.result,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
