"""Helpers of the tests that run real worker processes on one project (a uniquely named module)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

REPO = Path(__file__).resolve().parents[2]


def scorable_project(new_project, tmp_path: Path, n: int, side: int = 64):
    """A project with `n` generated tiles in batch "lot" and a training-free revision to score them: (project, rev)."""
    from core.io.importer import import_paths
    from core.models.revisions import create_training_free_revision

    folder = tmp_path / "tiles"
    folder.mkdir()
    rng = np.random.default_rng(11)
    for k in range(n):
        PILImage.fromarray(rng.integers(80, 120, (side, side), dtype=np.uint8)).save(folder / f"tile_{k:02d}.png")
    project = new_project(tmp_path / "shared")
    try:
        import_paths(project, [str(folder)], "lot")
        return project, create_training_free_revision(project, "gabor")
    except BaseException:
        project.close()
        raise


def worker_env(host: str | None = None, slot_dir: Path | None = None) -> dict[str, str]:
    """The environment of a worker standing in for machine `host`, with that machine's own compute slots."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    if host:
        env["CONTRARIO_HOST"] = host
    if slot_dir is not None:
        env["CONTRARIO_SLOT_DIR"] = str(slot_dir)
    return env


def start_worker(project_root: Path, *options: str, host: str | None = None,
                 slot_dir: Path | None = None) -> subprocess.Popen:
    """`contrario worker PROJECT --poll 0.2 --threads 1 OPTIONS`, once it says it is serving."""
    proc = subprocess.Popen([sys.executable, "-P", "-m", "core", "worker", str(project_root), "--poll", "0.2",
                             "--threads", "1", *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=worker_env(host, slot_dir), cwd=REPO, start_new_session=True)
    first = json.loads(proc.stdout.readline() or "{}")
    assert first.get("event") == "serving", proc.stderr.read()
    return proc


def start_long_training(project, config: dict) -> tuple[int, threading.Thread]:
    """A training job of 100 000 steps on the project's "train" batch, in a worker process: (job id, the thread
    waiting for that process)."""
    from core.jobs import queue
    from core.jobs.payloads import train_payload
    from core.jobs.runner import WorkerProcess

    payload = train_payload(project, batch="train")
    payload["config"] = dict(config, train_steps=100_000)
    job_id = queue.submit(project, "train", payload)
    waiter = threading.Thread(target=WorkerProcess(project, job_id, threads=1).wait)
    waiter.start()
    return job_id, waiter
