"""Tree of connected components of the upper level sets {u >= lambda} (a max-tree) as parent arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.morphology import max_tree

try:  # scikit-image's compiled builder; its public wrapper is slow on border pixels
    from skimage.morphology._max_tree import _max_tree as _skimage_max_tree
except ImportError:  # pragma: no cover - layout of a future scikit-image
    _skimage_max_tree = None

_NEIGHBOURS_CACHE: dict[int, np.ndarray] = {}


@dataclass(frozen=True)
class ComponentTree:
    """One node per connected component of an upper level set, parents before children.

    node_parent[0] == 0 is the root (the whole image); node_parent[i] < i otherwise.
    node_level is the component's minimum value lambda, node_area its pixel count,
    pixel_node maps each raveled pixel to the smallest component holding it.
    """

    node_parent: np.ndarray
    node_level: np.ndarray
    node_area: np.ndarray
    pixel_node: np.ndarray
    shape: tuple[int, int]

    @property
    def n_nodes(self) -> int:
        return int(self.node_parent.size)


def _max_tree_walled(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max-tree parent array and order (4-connectivity) using the compiled builder on a walled layout.

    The image is laid out with a spare column and a spare row above and below; the spare cells are never
    visited, so they act as walls and every real pixel can skip the per-pixel bounds check.
    """
    h, w = u.shape
    stride = w + 1
    padded = np.zeros((h + 2, stride), dtype=np.float64)
    padded[1:-1, :w] = u
    real = (np.arange(h)[:, None] + 1) * stride + np.arange(w)[None, :]
    real = real.ravel()
    order_real = np.argsort(u.ravel(), kind="stable")
    order = real[order_real].astype(np.int64)
    neighbours = _NEIGHBOURS_CACHE.get(stride)
    if neighbours is None:
        neighbours = np.array([-stride, -1, 1, stride], dtype=np.int32)
        _NEIGHBOURS_CACHE[stride] = neighbours
    parent = np.zeros(padded.size, dtype=np.int64)
    _skimage_max_tree(
        padded.ravel(),
        np.ones(padded.size, dtype=np.uint8),
        neighbours,
        np.array([1, 1], dtype=np.int32),
        np.array(padded.shape, dtype=np.int32),
        parent,
        order,
    )
    to_real = np.full(padded.size, -1, dtype=np.int64)
    to_real[real] = np.arange(h * w)
    return to_real[parent[real]], order_real


def max_tree_parents(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raveled max-tree parents (canonical form) and a parents-first pixel order, 4-connectivity."""
    if _skimage_max_tree is not None:
        try:
            return _max_tree_walled(u)
        except (TypeError, ValueError):  # pragma: no cover - changed private signature
            pass
    parent, order = max_tree(u, connectivity=1)
    return parent.ravel(), order


def build_component_tree(u: np.ndarray) -> ComponentTree:
    """Max-tree of a 2-D image with 4-connectivity, compacted to one node per component."""
    if u.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {u.shape}")
    flat = np.ascontiguousarray(u).ravel()
    parent_px, order = max_tree_parents(u)
    pixels = np.arange(flat.size)
    canonical = (parent_px == pixels) | (flat[parent_px] != flat)
    node_pixels = order[canonical[order]]
    index_of = np.full(flat.size, -1, dtype=np.int64)
    index_of[node_pixels] = np.arange(node_pixels.size)
    # A non-canonical pixel's parent is the canonical pixel of its own component.
    pixel_node = np.where(canonical, index_of, index_of[parent_px])
    node_parent = pixel_node[parent_px[node_pixels]]
    area = np.bincount(pixel_node, minlength=node_pixels.size).tolist()
    par = node_parent.tolist()
    for i in range(len(par) - 1, 0, -1):
        area[par[i]] += area[i]
    return ComponentTree(
        node_parent=node_parent,
        node_level=flat[node_pixels].astype(np.float64),
        node_area=np.asarray(area, dtype=np.int64),
        pixel_node=pixel_node,
        shape=(int(u.shape[0]), int(u.shape[1])),
    )


def nearest_marked_ancestor(node_parent: np.ndarray, marked: np.ndarray) -> np.ndarray:
    """For each node, the closest ancestor-or-self that is marked, or the root when none is (pointer jumping)."""
    idx = np.arange(node_parent.size)
    jump = np.where(marked, idx, node_parent)
    while True:
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            return jump
        jump = nxt
