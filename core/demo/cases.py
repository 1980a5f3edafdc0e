"""The demo's realistic cases: rendered leather hides (five aligned lights) and fruit (three cameras).

`write_case_images` writes, under one folder:
- `train/<item>_<view>.png` and `test/<item>_<view>.png`: what the project imports, views grouped into items
  by `views_regex(case)`;
- `by-view/<view>/`: one MVTec-layout category per view (`train/good`, `test/good`, `test/<kind>`,
  `ground_truth/<kind>/<item>_mask.png`), hard links to the same files, for `contrario eval`;
- `defects.json`: every planted defect (item, kind, relief or colour, box, the views that show it).

A defective hide carries several defects of one kind (kinds in turn); its mask is the same in all five lights
(the defect is on the hide, though a scratch hardly shows under the diffuse light). A defective fruit carries
one defect facing one camera: that view is the defective one, the two others are good views of it.
`create_case_project` imports both splits into a new project with the planted masks as ground truth.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from core.demo.fruit import CAMERAS, FRUIT_DEFECTS, FRUIT_RELIEF_KINDS, FRUIT_SIZE, render_fruit
from core.demo.hides import BORDER, DEFECT_KINDS, HIDE_SHAPE, LIGHTS, RELIEF_KINDS, render_hide
from core.errors import ContrarioError

LEATHER_HIDES = "leather-hides"
FRUIT = "fruit"
CASES = (LEATHER_HIDES, FRUIT)
DEFAULT_ITEMS = {LEATHER_HIDES: 10, FRUIT: 15}
DEFAULT_SIZE = {LEATHER_HIDES: (HIDE_SHAPE[1], HIDE_SHAPE[0]), FRUIT: (FRUIT_SIZE, FRUIT_SIZE)}  # width, height
MIN_SIDE = {LEATHER_HIDES: 2 * BORDER + 48, FRUIT: 64}
DEFECTS_PER_HIDE = 3
GROUND_TRUTH = "ground-truth"


def case_views(case: str) -> tuple[str, ...]:
    return {LEATHER_HIDES: LIGHTS, FRUIT: CAMERAS}[_checked(case)]


def views_regex(case: str) -> str:
    """The importer's `--views` regex that groups a case's files into items."""
    return r"^(?P<item>.+)_(?P<view>" + "|".join(re.escape(v) for v in case_views(case)) + r")$"


def _checked(case: str) -> str:
    if case not in CASES:
        raise ContrarioError(f"unknown demo case {case!r}; choose from {', '.join(CASES)}")
    return case


@dataclass
class CaseImage:
    path: Path
    item: str
    view: str
    split: str  # train | test
    kind: str | None  # the defect class this view shows, None for a good view
    mask: np.ndarray | None  # bool H x W, the planted defects seen in this view


@dataclass(frozen=True)
class Split:
    n_train: int
    n_good: int
    n_defect: int

    @classmethod
    def of(cls, items: int) -> Split:
        """Two fifths defective, one fifth good test items, the rest to train on."""
        if items < 3:
            raise ContrarioError(f"--items must be at least 3 (one to train, one good, one defective), got {items}")
        n_defect = max(1, 2 * items // 5)
        n_good = max(1, items // 5)
        return cls(items - n_defect - n_good, n_good, n_defect)

    def plan(self) -> list[tuple[str, int]]:
        """(split, index among the defective items or -1) per item, in item order."""
        return ([("train", -1)] * self.n_train + [("test", -1)] * self.n_good
                + [("test", i) for i in range(self.n_defect)])


def parse_size(text: str, case: str) -> tuple[int, int]:
    """'WIDTHxHEIGHT' -> (width, height), checked against the case's smallest side."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m:
        raise ContrarioError(f"--size must look like WIDTHxHEIGHT (e.g. 4000x3000), got {text!r}")
    width, height = int(m.group(1)), int(m.group(2))
    least = MIN_SIDE[_checked(case)]
    if min(width, height) < least:
        raise ContrarioError(f"--size {width}x{height} is too small for {case}: at least {least} px a side")
    if case == FRUIT and width != height:
        raise ContrarioError(f"--size {width}x{height}: fruit views are square")
    return width, height


def _save_png(img: np.ndarray, path: Path) -> None:
    PILImage.fromarray(img).save(path, compress_level=1)


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _write_by_view(folder: Path, images: list[CaseImage]) -> None:
    for im in images:
        cls = "good" if im.kind is None else im.kind
        base = folder / "by-view" / im.view
        _link(im.path, base / im.split / cls / f"{im.item}.png")
        if im.kind is not None:
            mask_path = base / "ground_truth" / cls / f"{im.item}_mask.png"
            mask_path.parent.mkdir(parents=True, exist_ok=True)
            PILImage.fromarray(np.where(im.mask, 255, 0).astype(np.uint8)).save(mask_path)


def _hides(folder: Path, seed: int, split: Split, size: tuple[int, int], progress) -> tuple[list, list]:
    images, record = [], []
    plan = split.plan()
    for n, (part, defect_index) in enumerate(plan):
        item = f"hide_{n:03d}"
        kind = DEFECT_KINDS[defect_index % len(DEFECT_KINDS)] if defect_index >= 0 else None
        hide = render_hide(seed * 1000 + n, (size[1], size[0]), defects=(kind,) * DEFECTS_PER_HIDE if kind else ())
        mask = hide.mask() if kind else None
        for view, img in hide.views.items():
            path = folder / part / f"{item}_{view}.png"
            _save_png(img, path)
            images.append(CaseImage(path, item, view, part, kind, mask))
        record += [{"item": item, "kind": d.kind, "relief": d.relief, "box_yxyx": list(d.box), "views": list(LIGHTS)}
                   for d in hide.defects]
        progress(f"{item}: {len(hide.views)} lights" + (f", {len(hide.defects)} planted ({kind})" if kind else ""))
    return images, record


def _fruit(folder: Path, seed: int, split: Split, size: tuple[int, int], progress) -> tuple[list, list]:
    images, record = [], []
    for n, (part, defect_index) in enumerate(split.plan()):
        item = f"fruit_{n:03d}"
        kinds = (FRUIT_DEFECTS[defect_index % len(FRUIT_DEFECTS)],) if defect_index >= 0 else ()
        camera = (defect_index + defect_index // len(CAMERAS)) % len(CAMERAS) if kinds else 0
        fruit = render_fruit(seed * 1000 + n, size[0], defects=kinds, first_camera=camera)
        for view, img in fruit.views.items():
            path = folder / part / f"{item}_{view}.png"
            _save_png(img, path)
            mask = fruit.masks[view]
            shown = [d.kind for d in fruit.defects if d.camera == view]
            images.append(CaseImage(path, item, view, part, shown[0] if shown else None, mask if shown else None))
        record += [{"item": item, "kind": d.kind, "relief": d.kind in FRUIT_RELIEF_KINDS, "views": [d.camera]}
                   for d in fruit.defects]
        progress(f"{item}: {len(fruit.views)} cameras" + (f", a {kinds[0]}" if kinds else ""))
    return images, record


def write_case_images(case: str, folder: str | Path, seed: int = 0, items: int | None = None,
                      size: tuple[int, int] | None = None, progress=lambda message: None) -> list[CaseImage]:
    """Render and write a case's images (see the module doc); `size` is (width, height)."""
    _checked(case)
    split = Split.of(DEFAULT_ITEMS[case] if items is None else items)
    size = DEFAULT_SIZE[case] if size is None else size
    folder = Path(folder)
    for part in ("train", "test"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    render = _hides if case == LEATHER_HIDES else _fruit
    images, record = render(folder, seed, split, size, progress)
    _write_by_view(folder, images)
    (folder / "defects.json").write_text(json.dumps(
        {"case": case, "seed": seed, "size": list(size), "views": list(case_views(case)),
         "relief_kinds": list(RELIEF_KINDS if case == LEATHER_HIDES else FRUIT_RELIEF_KINDS),
         "defects": record}, indent=1))
    return images


def add_ground_truth(project, images: list[CaseImage], case: str) -> int:
    """One ground-truth annotation per imported image: good, or its defect class with the planted mask."""
    from sqlalchemy import select

    from core.labels.revisions import add_annotation, ensure_defect_class
    from core.store.schema import Image

    by_path = {str(im.path.resolve()): im for im in images}
    added = 0
    with project.session() as s:
        for image_id, original in s.execute(select(Image.id, Image.original_path)).all():
            im = by_path.get(str(Path(original).resolve()))
            if im is None:
                continue
            blob = None
            if im.kind is not None:
                class_id = ensure_defect_class(s, im.kind).id
                blob = project.blobs.put_array(np.where(im.mask, class_id, 0).astype(np.uint8))
            add_annotation(s, image_id, GROUND_TRUTH, verdict="defect" if im.kind else "good",
                           defect_class=im.kind, mask_blob=blob, source="import",
                           source_ref={"demo": case, "split": im.split})
            added += 1
    return added


def create_case_project(case: str, folder: str | Path, seed: int = 0, items: int | None = None,
                        size: tuple[int, int] | None = None, progress=lambda message: None):
    """A new project in `folder` with the case's images (under `folder/demo_images`) in batches
    `demo-<case>/train` and `demo-<case>/test`, views grouped into items, planted masks as ground truth."""
    from core.io.importer import import_paths
    from core.store.project import Project

    folder = Path(folder)
    images = write_case_images(case, folder / "demo_images", seed=seed, items=items, size=size, progress=progress)
    project = Project.create(folder, name=f"Contrario demo: {case}")
    for part in ("train", "test"):
        report = import_paths(project, [folder / "demo_images" / part], f"demo-{case}/{part}",
                              views_regex=views_regex(case))
        if report.failed:
            raise ContrarioError(f"demo images not imported: {report.failed[0][0]}: {report.failed[0][1]}")
    add_ground_truth(project, images, case)
    return project
