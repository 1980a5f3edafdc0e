"""Scoring one full-size five-light hide through the real job worker: time per hide and peak worker memory.

    OMP_NUM_THREADS=2 python benchmarks/hide_scoring.py                    # a 4000 x 3000 hide, 5 lights
    OMP_NUM_THREADS=2 python benchmarks/hide_scoring.py --size 1600x1200   # a quick check that it runs

A project is made from the demo's leather-hides case at a small size (`--train-size`, 5 hides: 3 to train on);
two revisions are trained on it with `contrario train` and a short budget (`--steps`: this benchmark measures
cost, not detection): one model on the five lights stacked along channels (`--stack-views`) and one model per
light (`--per-view`). Both are tiled at native resolution (pixel scale 256), so a model trained on small hides
scores a large one at the same scale. One hide of `--size` with three planted defects is rendered under the
five lights, imported as one item of five views, and scored by `contrario infer --revision R` once per
revision. Each `contrario infer` runs in a fresh process that starts the real worker process; printed per
revision: wall seconds of the command (worker start, model load, decoding, tiled scoring, a contrario
segmentation, storing maps and regions), the job's own seconds, and the peak resident memory
of the largest process (the worker) from getrusage(RUSAGE_CHILDREN). Figures depend on the machine's load:
run it alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image as PILImage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.demo.cases import LEATHER_HIDES, create_case_project, parse_size, views_regex  # noqa: E402
from core.demo.hides import LIGHTS, render_hide  # noqa: E402

CLI = [sys.executable, "-m", "core"]


def measured(cmd: list[str]) -> dict:
    """Run `cmd` in a child that reports its own wall time and its descendants' peak RSS."""
    probe = ("import json, resource, subprocess, sys, time\n"
             "t0 = time.perf_counter()\n"
             "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "wall = time.perf_counter() - t0\n"
             "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
             "print(json.dumps({'rc': done.returncode, 'wall_s': wall, 'peak_kib': peak,\n"
             "                  'stdout': done.stdout, 'stderr': done.stderr[-2000:]}))\n")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({result['rc']}):\n{result['stderr']}")
    return result


def write_hide(folder: Path, size: tuple[int, int], seed: int) -> float:
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    hide = render_hide(seed, shape=(size[1], size[0]), defects=("scratch", "bite", "wrinkle"))
    for light, pixels in hide.views.items():
        PILImage.fromarray(pixels).save(folder / f"big-hide_{light}.png", compress_level=1)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="4000x3000", help="the scored hide, WIDTHxHEIGHT")
    parser.add_argument("--train-size", default="640x480", help="the training hides, WIDTHxHEIGHT")
    parser.add_argument("--steps", type=int, default=30, help="training steps of each model")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the worker")
    parser.add_argument("--modes", default="stacked,per-view")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    size, train_size = parse_size(args.size, LEATHER_HIDES), parse_size(args.train_size, LEATHER_HIDES)
    threads = ["--threads", str(args.threads)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        project = create_case_project(LEATHER_HIDES, root, seed=args.seed, items=5, size=train_size)
        project.close()
        render_s = write_hide(Path(tmp) / "big", size, args.seed + 1000)
        subprocess.run([*CLI, "import", str(root), str(Path(tmp) / "big"), "--batch", "big",
                        "--views", views_regex(LEATHER_HIDES)], check=True, capture_output=True)
        print(json.dumps({"hide": f"{size[0]}x{size[1]}", "lights": len(LIGHTS), "megapixels_per_view":
                          round(size[0] * size[1] / 1e6, 1), "render_and_write_s": round(render_s, 1),
                          "train_size": f"{train_size[0]}x{train_size[1]}", "steps": args.steps,
                          "worker_threads": args.threads}), flush=True)
        for mode in args.modes.split(","):
            flag = {"stacked": "--stack-views", "per-view": "--per-view"}[mode]
            t0 = time.perf_counter()
            trained = subprocess.run([*CLI, "train", str(root), "--batch", f"demo-{LEATHER_HIDES}/train", flag,
                                      "--steps", str(args.steps), "--json", *threads],
                                     check=True, capture_output=True, text=True)
            revision = json.loads(trained.stdout)["result"]["model_revision_id"]
            train_s = time.perf_counter() - t0
            run = measured([*CLI, "infer", str(root), "--batch", "big", "--revision", str(revision), "--json",
                            *threads])
            job = json.loads(run["stdout"])
            result = job.get("result") or {}
            print(json.dumps({"mode": mode, "revision": revision, "train_s": round(train_s, 1),
                              "infer_wall_s": round(run["wall_s"], 1),
                              "job_s": result.get("seconds"), "model_load_s": result.get("model_load_seconds"),
                              "images_scored": result.get("scored"),
                              "peak_worker_mib": round(run["peak_kib"] / 1024),
                              "peak_worker_gib": round(run["peak_kib"] / 1024 ** 2, 2)}), flush=True)
    print(f"peak RSS measured with getrusage(RUSAGE_CHILDREN); this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
