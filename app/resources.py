"""Paths to files under resources/ (key bindings, colour maps, icons)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    return RESOURCES.joinpath(*parts)


def load_colormap(name: str = "inferno") -> np.ndarray:
    """256 x 3 uint8 RGB table from resources/colormaps/<name>.csv."""
    table = np.loadtxt(resource_path("colormaps", f"{name}.csv"), delimiter=",", comments="#")
    return table.astype(np.uint8).reshape(256, 3)


def overlay_lut(rgb: np.ndarray, transparent_below: int = 90, ramp: int = 70) -> np.ndarray:
    """RGBA table for a uint8 anomaly map: low scores fully transparent, then a ramp to opaque."""
    alpha = np.clip((np.arange(256) - transparent_below) / float(ramp), 0.0, 1.0) * 255
    return np.column_stack([rgb, alpha.astype(np.uint8)]).astype(np.uint8)
