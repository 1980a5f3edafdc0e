"""A contrario segmentation of U-Flow latents (thesis 5.3.4): regions with log10 NFA <= -k.

Stored regions: every surviving leaf whose log10 NFA is < 0, whatever k is asked for, so that a viewer
can re-threshold live for any k >= 0 from `Region.log10_nfa` alone (`Segmentation.mask_at(k)`);
`mask` is the detection at the requested k. A region whose log10 NFA is exactly 0 (NFA = 1) is not kept:
it would be indistinguishable from the background value 0 of `log_nfa`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import ndimage

from core.nfa.component_tree import build_component_tree, nearest_marked_ancestor
from core.nfa.pfa_tree import reduce_pfa_tree
from core.nfa.polyomino import log10_polyomino_nt
from core.nfa.tails import TAILS, log10_level_pfa

MODES = ("paper",)


@dataclass(frozen=True)
class Region:
    """One detected region: label value in `Segmentation.labels`, pixel area and bbox at output size."""

    label: int
    area: int
    bbox: tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive ends)
    log10_nfa: float
    scale: int


@dataclass
class Segmentation:
    """Per-pixel log10 NFA, detection mask at k, label image and regions (most significant first)."""

    log_nfa: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    regions: list[Region]
    k: float = 0.0
    log10_nt: float = 0.0
    per_scale_log10_pfa: list[np.ndarray] = field(default_factory=list, repr=False)

    def mask_at(self, k: float) -> np.ndarray:
        """Detection mask for another threshold k >= 0 (one false alarm per 10^k images)."""
        return (self.labels > 0) & (self.log_nfa <= -k)

    def count_at(self, k: float) -> int:
        """Number of regions detected at threshold k."""
        return sum(1 for r in self.regions if r.log10_nfa <= -k)


def chi2_energy(latent: np.ndarray) -> np.ndarray:
    """u = sum_k z_k^2 over channels of a (C, H, W) latent, as float64.

    float32 input is summed in float32 (relative error ~1e-6, far below what moves a log10 PFA).
    """
    z = np.asarray(latent)
    if z.dtype != np.float32 and z.dtype != np.float64:
        z = z.astype(np.float64)
    return np.einsum("chw,chw->hw", z, z).astype(np.float64, copy=False)


@dataclass(frozen=True)
class _ScaleRegions:
    label_image: np.ndarray  # (H_l, W_l) int, 0 = none, i = i-th kept leaf
    log10_pfa: np.ndarray  # per kept leaf, index i-1
    pfa_map: np.ndarray  # (H_l, W_l) log10 PFA of the leaf covering each cell, 0 where none


def scale_regions(u: np.ndarray, dof: int, max_log10_pfa: float, tail: str = "exact") -> _ScaleRegions:
    """Surviving prune/merge leaves of one scale whose log10 PFA is below max_log10_pfa."""
    tree = build_component_tree(u)
    node_pfa = tree.node_area * log10_level_pfa(tree.node_level, dof, tail)
    leaves = reduce_pfa_tree(tree.node_parent, node_pfa, order=np.arange(tree.n_nodes))
    leaves = leaves[node_pfa[leaves] < max_log10_pfa]
    leaf_id = np.zeros(tree.n_nodes, dtype=np.int64)
    leaf_pfa = node_pfa[leaves]
    pfa_map = np.zeros(u.shape, dtype=np.float64)
    if leaves.size:
        leaf_id[leaves] = np.arange(1, leaves.size + 1)
        marked = leaf_id > 0
        top = nearest_marked_ancestor(tree.node_parent, marked)
        label_image = leaf_id[top][tree.pixel_node].reshape(u.shape)
        pfa_map = np.concatenate([[0.0], leaf_pfa])[label_image]
    else:
        label_image = np.zeros(u.shape, dtype=np.int64)
    return _ScaleRegions(label_image=label_image, log10_pfa=leaf_pfa, pfa_map=pfa_map)


def _nearest_index(n_out: int, n_in: int) -> np.ndarray:
    """Nearest-neighbour source index for each output pixel, pixel centres aligned."""
    idx = ((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64)
    return np.minimum(idx, n_in - 1)


def _validate(latents: Sequence[np.ndarray], image_shape, mode: str, tail: str) -> tuple[int, int]:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if tail not in TAILS:
        raise ValueError(f"tail must be one of {TAILS}, got {tail!r}")
    if len(latents) == 0:
        raise ValueError("need at least one latent scale")
    for i, z in enumerate(latents):
        if np.ndim(z) != 3 or min(np.shape(z)) < 1:
            raise ValueError(f"latent {i} must be shaped (C, H, W), got {np.shape(z)}")
    h, w = (int(v) for v in image_shape)
    if h < 1 or w < 1:
        raise ValueError(f"image_shape must be positive, got {tuple(image_shape)}")
    return h, w


def segment(
    latents: Sequence[np.ndarray],
    image_shape: tuple[int, int],
    k: float = 0.0,
    mode: str = "paper",
    tail: str = "exact",
) -> Segmentation:
    """Segment anomalies from per-scale latents (C_l, H_l, W_l), i.i.d. N(0, 1) under normality."""
    h, w = _validate(latents, image_shape, mode, tail)
    log10_nt = log10_polyomino_nt([np.shape(z) for z in latents])

    best_nfa = np.zeros((h, w), dtype=np.float64)
    best_ref = np.full((h, w), -1, dtype=np.int64)
    candidates: list[tuple[float, int, int]] = []  # (log10 NFA, scale, local leaf id)
    per_scale_pfa = []
    for scale, z in enumerate(latents):
        u = chi2_energy(z)
        if not np.isfinite(u).all():
            raise ValueError(f"latent {scale} contains NaN or infinite values")
        found = scale_regions(u, int(np.shape(z)[0]), -log10_nt, tail)
        per_scale_pfa.append(found.pfa_map.astype(np.float32))
        if found.log10_pfa.size == 0:
            continue
        first = len(candidates)
        candidates.extend((log10_nt + p, scale, i + 1) for i, p in enumerate(found.log10_pfa.tolist()))
        labels_up = found.label_image[_nearest_index(h, u.shape[0])][:, _nearest_index(w, u.shape[1])]
        nfa_up = np.concatenate([[0.0], log10_nt + found.log10_pfa])[labels_up]
        better = nfa_up < best_nfa
        best_nfa[better] = nfa_up[better]
        best_ref[better] = first + labels_up[better] - 1

    labels = np.zeros((h, w), dtype=np.int32)
    regions: list[Region] = []
    if candidates:
        visible = np.unique(best_ref[best_ref >= 0])
        ranked = sorted(visible.tolist(), key=lambda c: candidates[c])
        relabel = np.zeros(len(candidates) + 1, dtype=np.int32)
        relabel[np.asarray(ranked, dtype=np.int64) + 1] = np.arange(1, len(ranked) + 1)
        labels = relabel[best_ref + 1]
        areas = np.bincount(labels.ravel(), minlength=len(ranked) + 1)
        for new, (c, box) in enumerate(zip(ranked, ndimage.find_objects(labels)), start=1):
            nfa, scale, _ = candidates[c]
            regions.append(
                Region(
                    label=new,
                    area=int(areas[new]),
                    bbox=(box[0].start, box[1].start, box[0].stop, box[1].stop),
                    log10_nfa=float(nfa),
                    scale=scale,
                )
            )
    log_nfa = np.where(labels > 0, best_nfa, 0.0).astype(np.float32)
    return Segmentation(
        log_nfa=log_nfa,
        mask=(labels > 0) & (log_nfa <= -k),
        labels=labels,
        regions=regions,
        k=float(k),
        log10_nt=log10_nt,
        per_scale_log10_pfa=per_scale_pfa,
    )
