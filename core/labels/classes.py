"""The project's defect classes: names, colours and hotkeys; mask pixels hold the class id."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ContrarioError
from core.store.schema import DefectClass

# Distinct colours that stay readable over grey and colour images (Okabe-Ito first, then extra hues).
PALETTE = (
    "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7",
    "#ff4d6d", "#7bd389", "#9d8df1", "#ffd166", "#06d6a0", "#ef476f", "#118ab2",
)
MAX_CLASS_ID = 255


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    color: str
    hotkey: str | None

    @property
    def rgb(self) -> tuple[int, int, int]:
        return hex_to_rgb(self.color)


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    if len(c) != 6:
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def list_classes(session: Session) -> list[ClassInfo]:
    """Every defect class, by id."""
    rows = session.scalars(select(DefectClass).order_by(DefectClass.id))
    return [ClassInfo(r.id, r.name, r.color, r.hotkey) for r in rows]


def add_class(session: Session, name: str, color: str | None = None, hotkey: str | None = None) -> ClassInfo:
    """Create a class (or return the existing one of that name); a free palette colour when none is given."""
    name = name.strip()
    if not name:
        raise ContrarioError("a defect class needs a name")
    existing = session.scalar(select(DefectClass).where(DefectClass.name == name))
    if existing is not None:
        return ClassInfo(existing.id, existing.name, existing.color, existing.hotkey)
    taken = list_classes(session)
    if hotkey and any(c.hotkey == hotkey for c in taken):
        raise ContrarioError(f"hotkey {hotkey!r} is already used by another defect class")
    if color is None:
        used = {c.color.lower() for c in taken}
        color = next((c for c in PALETTE if c not in used), PALETTE[len(taken) % len(PALETTE)])
    hex_to_rgb(color)
    row = DefectClass(name=name, color=color, hotkey=hotkey)
    session.add(row)
    session.flush()
    if row.id > MAX_CLASS_ID:
        raise ContrarioError(f"a project holds at most {MAX_CLASS_ID} defect classes")
    return ClassInfo(row.id, row.name, row.color, row.hotkey)


def class_lut(classes: list[ClassInfo], alpha: int = 150) -> np.ndarray:
    """256 x 4 uint8 RGBA table: index = class id, 0 and unknown ids transparent/grey."""
    lut = np.zeros((256, 4), dtype=np.uint8)
    lut[1:] = (200, 200, 200, alpha)  # a class id with no row still shows
    for c in classes:
        if 0 < c.id <= MAX_CLASS_ID:
            lut[c.id] = (*c.rgb, alpha)
    return lut


def dominant_class(mask: np.ndarray) -> int:
    """The class id covering the most pixels (0 for an empty mask)."""
    counts = np.bincount(np.asarray(mask, dtype=np.uint8).ravel(), minlength=256)
    counts[0] = 0
    return int(counts.argmax()) if counts.any() else 0
