"""Projects handed over by someone hostile, and the command line run against them as a user would.

- `plant_code`: a `core/` (and `app/`) package beside project.sqlite whose import writes a marker file.
- `plant_path_values`: hash and path columns that point outside the project (a thumbnail written to
  `/tmp/x_160.png`, `/etc/passwd` copied into an export, ...).
- `damage_page`: overwrite the B-tree page of a table, as a disk or a careless copy would.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

REPO = Path(__file__).resolve().parents[2]
SECRET = b"root:x:0:0:TOP SECRET:/root:/bin/sh\n"


def cli(*args: str, cwd: Path, timeout: float = 240, drop_root: bool = False, env: dict | None = None,
        stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """`contrario ARGS` started like the installed command: `python -P` (nothing from the current folder is
    importable by the command itself), PYTHONPATH pointing at this checkout, run from `cwd`. `drop_root`
    removes root's power to ignore file permissions, so that permission tests mean the same for every user."""
    full_env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env or {}))
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-P", "-m", "core", *args]
    if drop_root and os.geteuid() == 0:
        cmd = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
               "--bounding-set=-dac_override,-dac_read_search", *cmd]
    return subprocess.run(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=full_env)


def write_images(folder: Path, n: int = 4, side: int = 64, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(n):
        path = folder / f"tile_{seed}_{k}.png"
        PILImage.fromarray(rng.integers(0, 255, (side, side), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def build_scored_project(base: Path) -> Path:
    """`base/project` with `base/images/*.png`: two images confirmed good, every image scored in a worker."""
    from core.io.importer import import_paths
    from core.jobs import queue
    from core.jobs.payloads import create_training_free_revision, infer_payload
    from core.jobs.runner import run_in_worker
    from core.labels.revisions import add_annotation
    from core.store.project import Project
    from core.store.schema import Image

    write_images(base / "images")
    with Project.create(base / "project") as project:
        import_paths(project, [str(base / "images")], "lot")
        with project.session() as s:
            for image in s.query(Image).order_by(Image.id).limit(2):
                add_annotation(s, image.id, "alice", verdict="good")
        rev = create_training_free_revision(project, "gabor", activate=True)
        view = run_in_worker(project, queue.submit(project, "infer", infer_payload(project, revision=rev)), threads=1)
        assert view.status == "done", view.message
    return base / "project"


def repoint_images(project_root: Path, old_base: Path, new_base: Path) -> None:
    conn = sqlite3.connect(project_root / "project.sqlite")
    with conn:
        conn.execute("UPDATE images SET original_path = replace(original_path, ?, ?)", (str(old_base), str(new_base)))
    conn.close()


PLANTED_MODULES = ("core/__init__.py", "core/__main__.py", "core/cli.py", "core/jobs/__init__.py",
                   "core/jobs/worker.py", "app/__init__.py", "app/main.py", "sitecustomize.py", "usercustomize.py")


def plant_code(project_root: Path, marker: Path) -> None:
    """Modules beside the database that would shadow Contrario's own; importing any writes `marker`."""
    for rel in PLANTED_MODULES:
        path = project_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text(__name__ + ' ran')\n")


def plant_path_values(project_root: Path, outside: Path, secret: Path) -> dict[str, int]:
    """Hash and path values that lead outside the project; returns which image got which."""
    secret.write_bytes(SECRET)
    conn = sqlite3.connect(project_root / "project.sqlite")
    ids = [r[0] for r in conn.execute("SELECT id FROM images ORDER BY id")]
    result = conn.execute("SELECT id FROM inference_results ORDER BY id LIMIT 1").fetchone()[0]
    with conn:
        conn.execute("UPDATE images SET sha256 = ? WHERE id = ?", (str(outside / "x"), ids[0]))
        conn.execute("UPDATE images SET blob = ? WHERE id = ?", (str(outside / "y"), ids[1]))
        conn.execute("UPDATE images SET original_path = ? WHERE id = ?", (str(secret), ids[2]))
        conn.execute("UPDATE annotations SET mask_blob = ? WHERE image_id = ?", ("../../" + str(outside / "m"), ids[1]))
        conn.execute("UPDATE inference_results SET map_blob = ? WHERE id = ?", (str(outside / "map"), result))
    conn.close()
    return {"sha256": ids[0], "blob": ids[1], "original_path": ids[2]}


def damage_page(db_path: Path, table: str = "images") -> None:
    """Overwrite the start of `table`'s root B-tree page (after folding the WAL into the file)."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    with open(db_path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * 64)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
