"""A contrario segmentation of U-Flow latents (thesis 5.3.4): regions with log10 NFA <= -k.

Two modes. "paper": eq. 5.8, every cell an independent chi-square, one count of tests for all sizes.
"calibrated": the region null of core.nfa.region_null, measured on held-out normal images of the model
(cell moments, correlation area, region calibration); it needs that `null`.

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
from core.nfa.region_null import RegionNull
from core.nfa.tails import TAILS, log10_level_pfa

MODES = ("paper", "calibrated")
SCORE_FLOOR = 3.0  # region_scores keeps leaves up to NFA = 10^3


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
    log10_pfa: np.ndarray  # per kept leaf, index i-1: the node value the tree was reduced with
    pfa_map: np.ndarray  # (H_l, W_l) value of the leaf covering each cell, 0 where none


def maximal_nodes(node_parent: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Nodes strictly more significant than every descendant and at least as significant as every ancestor
    (the maximal meaningful regions of Desolneux, Moisan and Morel): disjoint, and a defect whose whole
    extent is more significant than its parts is kept whole. Needs node_parent[i] < i for i > 0."""
    par = node_parent.tolist()
    val = value.tolist()
    n = len(par)
    below = [np.inf] * n  # best value strictly inside each subtree
    for i in range(n - 1, 0, -1):
        p = par[i]
        best = min(val[i], below[i])
        if best < below[p]:
            below[p] = best
    above = [np.inf] * n  # best value among the ancestors
    keep = []
    for i in range(n):
        if i:
            p = par[i]
            above[i] = min(above[p], val[p])
        if val[i] < below[i] and val[i] <= above[i]:
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def _kept_leaves(tree, node_value: np.ndarray, max_value: float, shape, select: str = "prune_merge"
                 ) -> _ScaleRegions:
    """Regions selected in the tree (prune/merge leaves, or maximal nodes) whose value is below max_value."""
    if select == "maximal":
        leaves = maximal_nodes(tree.node_parent, node_value)
    else:
        leaves = reduce_pfa_tree(tree.node_parent, node_value, order=np.arange(tree.n_nodes))
    leaves = leaves[node_value[leaves] < max_value]
    leaf_id = np.zeros(tree.n_nodes, dtype=np.int64)
    leaf_value = node_value[leaves]
    pfa_map = np.zeros(shape, dtype=np.float64)
    if leaves.size:
        leaf_id[leaves] = np.arange(1, leaves.size + 1)
        top = nearest_marked_ancestor(tree.node_parent, leaf_id > 0)
        label_image = leaf_id[top][tree.pixel_node].reshape(shape)
        pfa_map = np.concatenate([[0.0], leaf_value])[label_image]
    else:
        label_image = np.zeros(shape, dtype=np.int64)
    return _ScaleRegions(label_image=label_image, log10_pfa=leaf_value, pfa_map=pfa_map)


def scale_regions(u: np.ndarray, dof: int, max_log10_pfa: float, tail: str = "exact") -> _ScaleRegions:
    """Paper mode: surviving prune/merge leaves of one scale whose log10 PFA is below max_log10_pfa."""
    tree = build_component_tree(u)
    node_pfa = tree.node_area * log10_level_pfa(tree.node_level, dof, tail)
    return _kept_leaves(tree, node_pfa, max_log10_pfa, u.shape)


def calibrated_scale_regions(u: np.ndarray, null: RegionNull, scale: int, log10_strata: float,
                             max_log10_nfa: float = 0.0) -> _ScaleRegions:
    """Calibrated mode: leaves reduced on the model log10 NFA of the region null (values are NFAs)."""
    tree = build_component_tree(u)
    energy = node_sums(tree, u)
    node_nfa = null.node_log10_nfa(scale, u.shape, tree.node_area, energy, log10_strata)
    node_nfa = np.where(np.isfinite(node_nfa), node_nfa, 0.0)
    return _kept_leaves(tree, node_nfa, max_log10_nfa, u.shape, select="maximal")


def node_sums(tree, values: np.ndarray) -> np.ndarray:
    """Sum of `values` over each node's pixels (a node holds its descendants)."""
    acc = np.bincount(tree.pixel_node, weights=np.ravel(values), minlength=tree.n_nodes).tolist()
    par = tree.node_parent.tolist()
    for i in range(len(par) - 1, 0, -1):
        acc[par[i]] += acc[i]
    return np.asarray(acc, dtype=np.float64)


def _nearest_index(n_out: int, n_in: int) -> np.ndarray:
    """Nearest-neighbour source index for each output pixel, pixel centres aligned."""
    idx = ((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64)
    return np.minimum(idx, n_in - 1)


def _validate(latents: Sequence[np.ndarray], image_shape, mode: str, tail: str, null) -> tuple[int, int]:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "calibrated" and (null is None or len(null.scales) != len(latents)):
        raise ValueError("calibrated mode needs a region null fitted for these latent scales")
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


def _remapped(found: _ScaleRegions, remap) -> _ScaleRegions:
    """Leaves with calibrated values; those no longer below 0 are dropped (renumbered)."""
    values = remap(found.log10_pfa)
    keep = values < 0
    new_id = np.zeros(values.size + 1, dtype=np.int64)
    new_id[1:][keep] = np.arange(1, int(keep.sum()) + 1)
    labels = new_id[found.label_image]
    return _ScaleRegions(label_image=labels, log10_pfa=values[keep],
                         pfa_map=np.concatenate([[0.0], values[keep]])[labels])


def region_scores(latents: Sequence[np.ndarray], null: RegionNull, keep_below: float = SCORE_FLOOR) -> list[float]:
    """-log10 NFA (model, before the region calibration) of every prune/merge leaf of every scale whose
    model log10 NFA is below `keep_below`: a superset of the regions `segment` reports, so a calibration
    fitted on them counts at least as many false alarms; the leaves down to NFA = 10^keep_below give the
    tail fit data even on one or two normal images."""
    return [t for found in region_scores_by_scale(latents, null, keep_below) for t in found]


def region_scores_by_scale(latents: Sequence[np.ndarray], null: RegionNull, keep_below: float = SCORE_FLOOR
                           ) -> list[list[float]]:
    """`region_scores`, one list per scale."""
    shapes = [tuple(np.shape(z)[1:]) for z in latents]
    strata = null.log10_strata(shapes)
    out: list[list[float]] = []
    for scale, z in enumerate(latents):
        found = calibrated_scale_regions(chi2_energy(z), null, scale, strata, max_log10_nfa=keep_below)
        out.append([-v for v in found.log10_pfa.tolist() if v != 0.0])  # 0: not above the normal mean
    return out


def _merged_groups(n: int, global_ids: Sequence[np.ndarray]) -> np.ndarray:
    """Group of each of n candidates: candidates of different scales whose pixels overlap are one group
    (transitively). `global_ids`: per scale, the candidate index + 1 covering each pixel (0: none)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = [np.zeros((2, 0), dtype=np.int64)]
    for a in range(len(global_ids)):
        for b in range(a + 1, len(global_ids)):
            both = (global_ids[a] > 0) & (global_ids[b] > 0)
            pairs.append(np.unique(np.stack([global_ids[a][both], global_ids[b][both]]), axis=1).astype(np.int64) - 1)
    rows, cols = np.concatenate(pairs, axis=1)
    links = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n))
    return connected_components(links, directed=False)[1]


def segment(
    latents: Sequence[np.ndarray],
    image_shape: tuple[int, int],
    k: float = 0.0,
    mode: str = "paper",
    tail: str = "exact",
    null: RegionNull | None = None,
    calibrate: bool = True,
    merge_scales: bool = False,
) -> Segmentation:
    """Segment anomalies from per-scale latents (C_l, H_l, W_l), i.i.d. N(0, 1) under normality.

    mode="calibrated" uses `null`; `calibrate=False` leaves its region calibration out (the model scores
    alone, which is what the calibration itself is fitted on).

    Each scale gives its own regions. By default a pixel covered by regions of several scales belongs to the
    most significant, so a less significant region of another scale keeps only its pixels outside it (around
    a fine region, a coarse one keeps a ring). With `merge_scales`, regions of different scales that overlap
    are one region: the union of their pixels, at the NFA of the most significant (one detection per defect;
    the count of regions at any k can only fall).
    """
    h, w = _validate(latents, image_shape, mode, tail, null)
    shapes = [tuple(np.shape(z)[1:]) for z in latents]
    if mode == "paper":
        log10_nt = log10_polyomino_nt(shapes)
    else:
        log10_nt = 0.0  # the count of tests depends on the region size: it is inside each value
        strata = null.log10_strata(shapes)
        remap = calibrate and null.calibrated

    best_nfa = np.zeros((h, w), dtype=np.float64)
    best_ref = np.full((h, w), -1, dtype=np.int64)
    candidates: list[tuple[float, int, int]] = []  # (log10 NFA, scale, local leaf id)
    per_scale_pfa = []
    global_ids: list[np.ndarray] = []  # with merge_scales: per scale, candidate index + 1 of each pixel
    for scale, z in enumerate(latents):
        u = chi2_energy(z)
        if not np.isfinite(u).all():
            raise ValueError(f"latent {scale} contains NaN or infinite values")
        if mode == "paper":
            found = scale_regions(u, int(np.shape(z)[0]), -log10_nt, tail)
        else:
            found = calibrated_scale_regions(u, null, scale, strata)
            if remap and found.log10_pfa.size:
                found = _remapped(found, lambda m, level=scale: null.calibrated_log10_nfa(level, m))
        per_scale_pfa.append(found.pfa_map.astype(np.float32))
        if found.log10_pfa.size == 0:
            continue
        first = len(candidates)
        candidates.extend((log10_nt + p, scale, i + 1) for i, p in enumerate(found.log10_pfa.tolist()))
        labels_up = found.label_image[_nearest_index(h, u.shape[0])][:, _nearest_index(w, u.shape[1])]
        if merge_scales:
            global_ids.append(np.where(labels_up > 0, first + labels_up, 0).astype(np.int32))
        nfa_up = np.concatenate([[0.0], log10_nt + found.log10_pfa])[labels_up]
        better = nfa_up < best_nfa
        best_nfa[better] = nfa_up[better]
        best_ref[better] = first + labels_up[better] - 1

    if merge_scales and len(global_ids) > 1:
        group = _merged_groups(len(candidates), global_ids)
        nfa = np.asarray([c[0] for c in candidates])
        best_of_group = {}
        for i in np.argsort(nfa, kind="stable").tolist():
            best_of_group.setdefault(int(group[i]), i)
        leader = np.asarray([best_of_group[int(g)] for g in group], dtype=np.int64)
        covered = best_ref >= 0
        best_ref[covered] = leader[best_ref[covered]]
        best_nfa[covered] = nfa[best_ref[covered]]
    del global_ids

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
