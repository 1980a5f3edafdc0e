from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

N_TRAIN, N_GOOD, N_DEFECT = 4, 2, 3


@pytest.fixture
def mtd_lot(tmp_path, mtd_root) -> dict[str, list[Path]]:
    """A few real MTD images copied into one folder (one production lot): goods and blowholes."""
    folder = tmp_path / "lot"
    folder.mkdir()
    picks = {
        "train": sorted((mtd_root / "train" / "good").glob("*.jpg"))[:N_TRAIN],
        "good": sorted((mtd_root / "test" / "good").glob("*.jpg"))[:N_GOOD],
        "defect": sorted((mtd_root / "test" / "blowhole").glob("*.jpg"))[:N_DEFECT],
    }
    return {kind: [Path(shutil.copy(p, folder / f"{kind}_{p.name}")) for p in paths] for kind, paths in picks.items()}


@pytest.fixture
def settings(tmp_path):
    from PySide6 import QtCore

    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
