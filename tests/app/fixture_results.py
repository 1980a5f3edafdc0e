"""Test and benchmark fixtures for the workbench: small real projects and honestly computed fake results.

The results here stand in for the scoring jobs (core.jobs) in GUI tests, screenshots and benchmarks: the
anomaly map is the local deviation of each image from its own smoothed texture, and regions are its
connected high-deviation blobs with a Gaussian-tail log10 NFA. They are fixtures, not a detector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage, stats
from skimage import measure

from core.io.images import read_image, to_rgb_float
from core.store.schema import Batch, Image, InferenceResult, Item, ModelRevision, Region

MAP_SIDE = 128


def write_corrupt_png(path: Path) -> Path:
    """A file named .png whose content is a truncated PNG: decoding fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"garbage" * 10)
    return path


def add_images(project, batch_name: str, files: list[tuple[str, str, Path]]) -> list[int]:
    """Register (item, view, path) files as a batch, the way an import does; returns image ids."""
    from core.store.blobs import sha256_file

    ids = []
    with project.session() as s:
        batch = Batch(name=batch_name)
        s.add(batch)
        s.flush()
        items: dict[str, Item] = {}
        for item_name, view, path in files:
            item = items.get(item_name)
            if item is None:
                item = Item(batch_id=batch.id, name=item_name)
                s.add(item)
                s.flush()
                items[item_name] = item
            img = Image(item_id=item.id, view=view, original_path=str(path), sha256=sha256_file(path),
                        file_size=path.stat().st_size)
            try:
                decoded = read_image(path)
                img.height, img.width = decoded.pixels.shape[:2]
                img.status = "ok"
            except Exception as exc:
                img.status, img.error = "failed", str(exc)
            s.add(img)
            s.flush()
            ids.append(img.id)
    return ids


def deviation_map(path: Path, side: int = MAP_SIDE) -> np.ndarray:
    """Deviation from row- and column-wise running medians (so straight seams and grout do not count),
    smoothed and resampled onto a side x side grid (float32, grey levels)."""
    grey = to_rgb_float(read_image(path)).mean(axis=2)
    residual = np.minimum(np.abs(grey - ndimage.median_filter(grey, size=(1, 41))),
                          np.abs(grey - ndimage.median_filter(grey, size=(41, 1))))
    residual = ndimage.gaussian_filter(residual, 2.5)
    return ndimage.zoom(residual, (side / grey.shape[0], side / grey.shape[1]), order=1).astype(np.float32)


class PooledTail:
    """Empirical survival function of deviation values pooled over a batch, with an exponential tail
    (peaks over the 99.5th percentile) beyond the data."""

    def __init__(self, pooled: np.ndarray, q: float = 0.995) -> None:
        self.values = np.sort(pooled.ravel())
        self.q = q
        self.level = float(np.quantile(self.values, q))
        excess = self.values[self.values > self.level] - self.level
        self.beta = float(excess.mean()) if excess.size else 1.0

    def log10_sf(self, v: float) -> float:
        return float(np.log10(1.0 - self.q) - (v - self.level) / self.beta / np.log(10))


CORRELATED_PIXELS = 6.0  # neighbouring map pixels are not independent: count blocks of this many as one


def regions_of(z: np.ndarray, tail: PooledTail) -> tuple[np.ndarray, list[tuple[int, float, np.ndarray]]]:
    """Connected blobs above the tail level. With exponential excesses, a region's summed excess over n
    pixels is Gamma(n, beta): log10 NFA = log10(#pixels) + log10 P(Gamma >= observed sum)."""
    labels = measure.label(z > tail.level, connectivity=2).astype(np.int32)
    n_tests = np.log10(z.size)
    out = []
    for r in measure.regionprops(labels, intensity_image=z):
        excess = float((r.image_intensity[r.image] - tail.level).sum())
        n_eff = max(r.area / CORRELATED_PIXELS, 1.0)
        log_sf = stats.gamma.logsf(excess / CORRELATED_PIXELS, a=n_eff, scale=tail.beta) / np.log(10)
        out.append((r.label, float(n_tests + np.log10(1.0 - tail.q) * n_eff + log_sf), np.array(r.bbox)))
    return labels, out


def score_images(project, image_ids: list[int] | None = None, name: str = "fixture-deviation") -> int:
    """Create a model revision and store a map, labels and regions for every readable image; returns its id."""
    with project.session() as s:
        rev = ModelRevision(name=name, kind="classic", config={"fixture": True})
        s.add(rev)
        s.flush()
        rev_id = rev.id
        q = s.query(Image).filter(Image.status == "ok")
        if image_ids is not None:
            q = q.filter(Image.id.in_(image_ids))
        images = [(i.id, i.original_path, i.width, i.height) for i in q.all()]
    maps = {image_id: deviation_map(Path(path)) for image_id, path, _w, _h in images}
    tail = PooledTail(np.stack(list(maps.values()))) if maps else None
    for image_id, path, w, h in images:
        z = maps[image_id]
        labels, regs = regions_of(z, tail)
        map_u8 = np.clip(z / (tail.level + 4 * tail.beta) * 200.0, 0, 255).astype(np.uint8)
        sy, sx = h / z.shape[0], w / z.shape[1]
        with project.session() as s:
            res = InferenceResult(
                image_id=image_id, model_revision_id=rev_id, score=float(max(0.0, -min([r[1] for r in regs], default=0.0))),
                map_blob=project.blobs.put_array(map_u8), labels_blob=project.blobs.put_array(labels),
                map_info={"shape": list(z.shape), "image_size": [h, w], "scale": [sy, sx], "dtype": "uint8"},
            )
            s.add(res)
            s.flush()
            for lab, lnfa, (r0, c0, r1, c1) in regs:
                s.add(Region(result_id=res.id, label=int(lab), log10_nfa=lnfa,
                             area=int((labels == lab).sum() * sx * sy),
                             x0=int(c0 * sx), y0=int(r0 * sy), x1=int(c1 * sx), y1=int(r1 * sy), scale=0))
    return rev_id
