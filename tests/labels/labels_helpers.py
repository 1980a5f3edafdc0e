"""Helpers for label tests: constructed images in a real project, model results, box masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import select

from core.store.project import Project
from core.store.schema import Image, InferenceResult, Item, ModelRevision, Region

SIZE = (48, 64)  # h, w
VIEWS_REGEX = r"(?P<item>.+)_(?P<view>cam\d)"


def write_images(folder: Path, names: list[str], seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        p = folder / f"{name}.png"
        PILImage.fromarray(rng.integers(0, 255, SIZE + (3,), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


class Lab:
    """The project plus helpers to find images and add model results."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def image_id(self, item: str, view: str = "") -> int:
        with self.project.session(readonly=True) as s:
            return s.scalar(select(Image.id).join(Item).where(Item.name == item, Image.view == view))

    def add_model_result(self, image_id: int, log10_nfas: list[float], revision: int | None = None,
                         score: float = 1.0) -> int:
        with self.project.session() as s:
            if revision is None:
                rev = ModelRevision(name="m", kind="uflow", config={})
                s.add(rev)
                s.flush()
                revision = rev.id
            res = InferenceResult(image_id=image_id, model_revision_id=revision, score=score)
            s.add(res)
            s.flush()
            for n, v in enumerate(log10_nfas, start=1):
                s.add(Region(result_id=res.id, label=n, log10_nfa=v, area=10, x0=1, y0=1, x1=5, y1=5, scale=0))
        return revision


def box_mask(y0: int, x0: int, y1: int, x1: int, value: int = 1, shape=SIZE) -> np.ndarray:
    m = np.zeros(shape, dtype=np.uint8)
    m[y0:y1, x0:x1] = value
    return m
