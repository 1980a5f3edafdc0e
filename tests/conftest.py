from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
MTD_ROOT = REPO_ROOT.parent / "shared" / "data" / "mtd" / "magnetic_tile"


@pytest.fixture(scope="session")
def mtd_root(tmp_path_factory) -> Path:
    """The Magnetic Tile Defect dataset (MVTec layout) when it sits beside the checkout, else a generated
    category in the same layout (core.demo.write_demo_category: grey JPEG tiles, defect class `blowhole`)."""
    if (MTD_ROOT / "train" / "good").is_dir():
        return MTD_ROOT
    from core.demo import write_demo_category

    return write_demo_category(tmp_path_factory.mktemp("mtd_like") / "magnetic_tile", seed=3,
                               defect_class="blowhole")
