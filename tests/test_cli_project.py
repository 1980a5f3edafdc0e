"""`contrario init / import / info` through `python -m core`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def _png(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.random.default_rng(seed).integers(0, 255, (12, 12), dtype=np.uint8)).save(path)


def test_init_import_info(tmp_path):
    proj = tmp_path / "proj"
    out = run("init", str(proj), "--name", "Line 4", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["name"] == "Line 4"
    for i, item in enumerate(("a", "b")):
        for k, view in enumerate(("top", "side")):  # four distinct contents: none is a duplicate
            _png(tmp_path / "in" / f"{item}_{view}.png", seed=10 * i + k)
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = run("import", str(proj), str(tmp_path / "in"), "--batch", "lot1", "--views",
              r"(?P<item>.+)_(?P<view>top|side)", "--product-line", "P", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["added"] == 4 and report["items_added"] == 3 and report["mvtec"] is False
    assert [f["path"] for f in report["failed"]] == [str(tmp_path / "in" / "broken.png")]
    out = run("import", str(proj), str(tmp_path / "in" / "*.png"), "--batch", "lot1")
    assert out.returncode == 0 and "0 images added, 4 already in the project, 1 failed" in out.stdout
    out = run("info", str(proj), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["name"] == "Line 4" and info["images"] == {"ok": 4, "failed": 1}
    assert [(b["name"], b["items"], b["product_line"]) for b in info["batches"]] == [("lot1", 3, "P")]
    assert info["models"] == 0 and info["jobs"] == {}
    text = run("info", str(proj)).stdout
    assert "lot1: 3 items, 4 images ok, 1 failed [P]" in text


def test_import_mvtec_detected(tmp_path):
    root = tmp_path / "mv"
    _png(root / "train/good/0.png", 1)
    _png(root / "test/good/0.png", 2)
    _png(root / "test/hole/0.png", 3)
    _png(root / "ground_truth/hole/0_mask.png", 4)
    assert run("init", str(tmp_path / "p")).returncode == 0
    out = run("import", str(tmp_path / "p"), str(root), "--batch", "mv", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["mvtec"] and report["batches"] == ["mv/train", "mv/test"] and report["annotations_added"] == 3
    info = json.loads(run("info", str(tmp_path / "p"), "--json").stdout)
    assert info["annotations"]["by_verdict"] == {"good": 2, "defect": 1}


def test_errors_are_one_line_and_nonzero(tmp_path):
    for args, words in [
        (("info", str(tmp_path / "nothing")), "no such folder"),
        (("import", str(tmp_path), str(tmp_path), "--batch", "b"), "not a Contrario project"),
    ]:
        out = run(*args)
        assert out.returncode == 1
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and lines[0].startswith(f"contrario {args[0]}: error:")
    assert run("init", str(tmp_path / "p")).returncode == 0
    out = run("init", str(tmp_path / "p"))
    assert out.returncode == 1 and "already holds" in out.stderr
    out = run("import", str(tmp_path / "p"), str(tmp_path), "--batch", "b", "--views", "(?P<item>x)")
    assert out.returncode == 1 and "named groups" in out.stderr
