"""Demo data made on the spot: leather-like and tile-like textures with planted scratches and spots.

The realistic cases (rendered leather hides under five lights, fruit under three cameras) are in
`core.demo.cases`, their renderers in `core.demo.hides` and `core.demo.fruit`.

`write_demo_images` draws the files (deterministic for a seed, no network); `create_demo_project` imports
them into a new project, one batch per product. Scoring is a separate step run on the returned project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from scipy import ndimage

DEMO_SIZE = 512
VIEWS = ("top", "left", "right")
MULTIVIEW_REGEX = r"^(?P<item>.+)_(?P<view>top|left|right)$"


@dataclass
class DemoImage:
    path: Path
    product: str
    item: str
    view: str
    defect: str | None  # "scratch" | "spot" | None
    mask: np.ndarray | None = field(default=None, repr=False)  # bool H x W, the planted defect


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Unit-variance Gaussian noise smoothed at `sigma` px (coarse scales drawn small and zoomed)."""
    factor = max(1, int(sigma // 4))
    small = (max(shape[0] // factor, 4), max(shape[1] // factor, 4))
    n = ndimage.gaussian_filter(rng.standard_normal(small).astype(np.float32), sigma / factor, mode="wrap")
    if factor > 1:
        n = ndimage.zoom(n, (shape[0] / small[0], shape[1] / small[1]), order=1, mode="grid-wrap")
    return n / (n.std() + 1e-6)


def leather_texture(rng: np.random.Generator, size: int = DEMO_SIZE) -> np.ndarray:
    """Brown grained surface with soft wrinkles; float32 H x W x 3 in [0, 255]."""
    shape = (size, size)
    grain = _smooth_noise(rng, shape, 1.2)
    pores = np.clip(_smooth_noise(rng, shape, 2.5), 1.2, None) - 1.2
    creases = np.exp(-((_smooth_noise(rng, shape, 10.0) / 0.12) ** 2))
    shade = 0.55 + 0.025 * _smooth_noise(rng, shape, 40.0)
    lum = shade + 0.04 * grain - 0.10 * pores - 0.07 * creases
    base = np.array([150.0, 98.0, 62.0], dtype=np.float32) / 0.55
    return np.clip(lum[..., None] * base, 0, 255).astype(np.float32)


def tile_texture(rng: np.random.Generator, size: int = DEMO_SIZE, cells: int = 4) -> np.ndarray:
    """Ceramic tiles with grout lines and speckles; float32 H x W x 3 in [0, 255]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    pitch = size / cells
    offset = rng.uniform(0, pitch, size=2)
    gy = np.abs(((yy + offset[0]) % pitch) - pitch / 2)
    gx = np.abs(((xx + offset[1]) % pitch) - pitch / 2)
    edge = np.minimum(pitch / 2 - gy, pitch / 2 - gx)
    grout = np.clip(1.0 - edge / 4.0, 0, 1)
    cell_id = ((yy + offset[0]) // pitch) * (cells + 1) + ((xx + offset[1]) // pitch)
    cell_shade = rng.normal(0, 0.025, size=int(cell_id.max()) + 1).astype(np.float32)[cell_id.astype(int)]
    speckle = _smooth_noise(rng, (size, size), 0.8)
    lum = 0.78 + cell_shade + 0.025 * speckle - 0.38 * grout
    base = np.array([205.0, 208.0, 212.0], dtype=np.float32) / 0.78
    return np.clip(lum[..., None] * base, 0, 255).astype(np.float32)


def plant_scratch(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Draw a thin curved bright or dark scratch; returns its mask."""
    size = img.shape[0]
    t = np.linspace(0, 1, 400)
    p0 = rng.uniform(0.2, 0.8, 2) * size
    angle = rng.uniform(0, np.pi)
    length = rng.uniform(0.18, 0.35) * size
    bend = rng.uniform(-0.15, 0.15) * size
    d = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-d[1], d[0]])
    pts = p0[None] + (t[:, None] - 0.5) * length * d[None] + (4 * t * (1 - t))[:, None] * bend * n[None]
    canvas = np.zeros(img.shape[:2], np.float32)
    r = np.clip(np.round(pts).astype(int), 0, size - 1)
    canvas[r[:, 1], r[:, 0]] = 1.0
    line = ndimage.gaussian_filter(canvas, 1.4)
    line /= line.max()
    sign = 1.0 if rng.random() < 0.5 else -1.0
    img += (sign * 90.0 * line)[..., None]
    return line > 0.2


def plant_spot(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Draw a dark stain with a soft border; returns its mask."""
    size = img.shape[0]
    cy, cx = rng.uniform(0.2, 0.8, 2) * size
    ry, rx = rng.uniform(0.035, 0.07, 2) * size
    yy, xx = np.mgrid[0:size, 0:size]
    d2 = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
    blob = np.exp(-d2 * 1.5).astype(np.float32)
    img *= (1.0 - 0.55 * blob)[..., None]
    return blob > 0.25


def _save(img: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, compress_level=1)


def write_demo_images(
    folder: str | Path,
    seed: int = 0,
    per_product: int = 16,
    multiview_items: int = 4,
    size: int = DEMO_SIZE,
) -> list[DemoImage]:
    """Write `folder/{leather,tile,assembly}/*.png`; about one image in four carries a planted defect."""
    folder = Path(folder)
    root = np.random.default_rng(seed)
    out: list[DemoImage] = []
    for product, texture in (("leather", leather_texture), ("tile", tile_texture)):
        for i in range(per_product):
            rng = np.random.default_rng(root.integers(2**63))
            img = texture(rng, size)
            defect = ("scratch", "spot")[(i // 4) % 2] if i % 4 == 3 else None
            mask = None
            if defect == "scratch":
                mask = plant_scratch(rng, img)
            elif defect == "spot":
                mask = plant_spot(rng, img)
            item = f"{product}_{i:03d}"
            path = folder / product / f"{item}.png"
            _save(img, path)
            out.append(DemoImage(path, product, item, "", defect, mask))
    for j in range(multiview_items):
        item = f"part_{j:03d}"
        defect_view = VIEWS[j % 3] if j % 2 == 1 else None
        for view in VIEWS:
            rng = np.random.default_rng(root.integers(2**63))
            img = tile_texture(rng, size, cells=2) if view == "top" else leather_texture(rng, size)
            defect = mask = None
            if view == defect_view:
                defect = "spot" if j % 4 == 1 else "scratch"
                mask = plant_spot(rng, img) if defect == "spot" else plant_scratch(rng, img)
            path = folder / "assembly" / f"{item}_{view}.png"
            _save(img, path)
            out.append(DemoImage(path, "assembly", item, view, defect, mask))
    return out


def write_demo_category(folder: str | Path, seed: int = 0, n_train: int = 12, n_good: int = 6,
                        n_defect: int = 6, size: int = 160, defect_class: str = "spot",
                        suffix: str = ".jpg", texture: str = "tile") -> Path:
    """An MVTec-layout category of grey `texture` images ("tile" or "leather"): `train/good`, `test/good`,
    `test/<defect_class>` with planted spots and scratches, and their masks as
    `ground_truth/<defect_class>/<stem>.png`."""
    if texture not in ("tile", "leather"):
        raise ValueError(f"unknown demo texture {texture!r}; choose tile or leather")
    root = Path(folder)
    rng = np.random.default_rng(seed)

    def grey_tile() -> np.ndarray:
        sub = np.random.default_rng(rng.integers(2**63))
        return tile_texture(sub, size, cells=2) if texture == "tile" else leather_texture(sub, size)

    def save(img: np.ndarray, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(np.clip(img.mean(axis=2), 0, 255).astype(np.uint8)).save(path, quality=95)

    for i in range(n_train):
        save(grey_tile(), root / "train" / "good" / f"train_{i:03d}{suffix}")
    for i in range(n_good):
        save(grey_tile(), root / "test" / "good" / f"good_{i:03d}{suffix}")
    for i in range(n_defect):
        img = grey_tile()
        mask = (plant_spot if i % 2 == 0 else plant_scratch)(rng, img)
        stem = f"{defect_class}_{i:03d}"
        save(img, root / "test" / defect_class / f"{stem}{suffix}")
        (root / "ground_truth" / defect_class).mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(
            root / "ground_truth" / defect_class / f"{stem}.png")
    return root


def create_demo_project(folder: str | Path, seed: int = 0, **kwargs):
    """Create a project in `folder` (images under `folder/demo_images`) and import one batch per product."""
    from core.io.importer import import_paths
    from core.store.project import Project

    folder = Path(folder)
    write_demo_images(folder / "demo_images", seed=seed, **kwargs)
    project = Project.create(folder, name="Contrario demo")
    for product in ("leather", "tile", "assembly"):
        regex = MULTIVIEW_REGEX if product == "assembly" else None
        import_paths(project, [folder / "demo_images" / product], f"demo-{product}", views_regex=regex)
    return project


DEMO_ANNOTATOR = "demo-setup"
DEMO_GOOD_PER_PRODUCT = 6
DEMO_TRAINING = {"train_steps": 100}  # its 32 scored leather and tile images: image AUROC 1.0, every defective
# image with a region and no good one, as at 150 steps (60: one good image with a region); 54 s instead of 72


def confirm_demo_goods(project, per_product: int = DEMO_GOOD_PER_PRODUCT) -> int:
    """Mark the first defect-free leather and tile images good, as an engineer's first review would."""
    from sqlalchemy import select

    from core.labels.revisions import add_annotation
    from core.store.schema import Batch, Image, Item

    marked = 0
    with project.session() as s:
        for product in ("leather", "tile"):
            rows = s.execute(select(Image.id, Item.name).join(Item).join(Batch)
                             .where(Batch.name == f"demo-{product}").order_by(Item.name)).all()
            # write_demo_images plants a defect in every fourth image (i % 4 == 3).
            good = [image_id for image_id, name in rows if int(name.rsplit("_", 1)[1]) % 4 != 3]
            for image_id in good[:per_product]:
                add_annotation(s, image_id, DEMO_ANNOTATOR, verdict="good", source="import")
                marked += 1
    return marked


def queue_demo_model(project, batch: str | None = None) -> int:
    """Queue training on the confirmed-good images (of `batch`, else all), followed by scoring every image;
    returns the job id."""
    from core.jobs import queue
    from core.jobs.payloads import train_payload

    payload = train_payload(project, batch=batch, activate=True, score_after={})
    payload["config"] = dict(DEMO_TRAINING)
    return queue.submit(project, "train", payload)
