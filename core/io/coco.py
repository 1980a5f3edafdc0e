"""COCO segmentation encodings: compressed RLE (the `counts` string of the COCO API) and polygons."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.draw import polygon as draw_polygon


def rle_counts(mask: np.ndarray) -> list[int]:
    """Run lengths over the column-major pixels, starting with a run of zeros (possibly empty)."""
    flat = (np.asarray(mask) > 0).ravel(order="F").astype(np.int8)
    if flat.size == 0:
        return []
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0] == 1:
        runs.insert(0, 0)
    return runs


def _encode_counts(counts: list[int]) -> str:
    out = []
    for i, value in enumerate(counts):
        x = value - counts[i - 2] if i > 2 else value
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def _decode_counts(text: str) -> list[int]:
    counts: list[int] = []
    p = 0
    while p < len(text):
        x = k = 0
        more = True
        while more:
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_encode(mask: np.ndarray) -> dict:
    """COCO compressed RLE: {"size": [h, w], "counts": str}."""
    h, w = np.asarray(mask).shape
    return {"size": [int(h), int(w)], "counts": _encode_counts(rle_counts(mask))}


def rle_decode(rle: dict) -> np.ndarray:
    """Boolean mask from a compressed (string) or uncompressed (list) COCO RLE."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = _decode_counts(counts)
    flat = np.zeros(h * w, dtype=bool)
    pos, value = 0, False
    for run in counts:
        if value:
            flat[pos : pos + run] = True
        pos += run
        value = not value
    return flat.reshape((w, h)).T.copy()


def rle_area(rle: dict) -> int:
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = _decode_counts(counts)
    return int(sum(counts[1::2]))


def mask_to_polygons(mask: np.ndarray, tolerance: float = 0.25) -> list[list[float]]:
    """Outer outlines of the mask as COCO polygons [x1, y1, x2, y2, ...].

    COCO coordinates: pixel (col, row) covers [col, col+1] x [row, row+1]. The outline runs half-way
    between marked and unmarked pixel centres, so rasterising it (pixel centres inside) gives the mask
    back. Holes are not represented (a COCO polygon has none); use RLE where holes matter.
    """
    from skimage.measure import approximate_polygon, find_contours  # slow to import; only polygons need it

    m = np.pad(np.asarray(mask) > 0, 1)
    polys = []
    for contour in find_contours(m.astype(np.float32), 0.5):
        contour = approximate_polygon(contour, tolerance) if tolerance > 0 else contour
        if len(contour) < 3:
            continue
        ys, xs = contour[:, 0] - 0.5, contour[:, 1] - 0.5  # padding removed, then centre -> edge convention
        signed = np.sum(xs[:-1] * ys[1:] - xs[1:] * ys[:-1])
        # find_contours traces outer boundaries and holes with opposite orientation; keep outer ones
        if signed < 0:
            continue
        polys.append([round(float(v), 2) for xy in zip(xs, ys) for v in xy])
    return polys


def polygons_to_mask(polygons: list[list[float]], shape: tuple[int, int]) -> np.ndarray:
    """Rasterise COCO polygons: the pixels whose centre lies inside."""
    out = np.zeros(shape, dtype=bool)
    for poly in polygons:
        xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        rr, cc = draw_polygon(xy[:, 1] - 0.5, xy[:, 0] - 0.5, shape=shape)
        out[rr, cc] = True
    return out


def components(mask: np.ndarray) -> list[tuple[tuple[slice, slice], np.ndarray]]:
    """8-connected components of a boolean mask: (slices, boolean crop) each."""
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    out = []
    for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is not None:
            out.append((sl, labels[sl] == idx))
    return out
