from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
MTD_ROOT = REPO_ROOT.parent / "shared" / "data" / "mtd" / "magnetic_tile"


@pytest.fixture(scope="session")
def mtd_root() -> Path:
    """The Magnetic Tile Defect dataset (MVTec layout) that sits beside the checkout."""
    if not (MTD_ROOT / "train" / "good").is_dir():
        pytest.skip(f"MTD dataset not found at {MTD_ROOT}")
    return MTD_ROOT
