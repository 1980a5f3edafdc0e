"""PFA prune and merge (thesis 5.3.4, procedures 1 and 2) iterated to their fixed point in one bottom-up pass.

Prune: a branch that starts at a leaf and climbs through nodes with exactly one child keeps only its
most significant node (lowest log PFA; on a tie the deeper, smaller node).
Merge: when every child of a node is a leaf and the node is strictly more significant than each of
them, the children are removed and the node becomes a leaf (which may then extend a branch upward).

Why one pass is enough: a node's fate depends only on the fixed point of its own subtree. A subtree
either collapses to a single leaf (its best node and value) or keeps a branching node with a non-leaf
below it, which no later prune or merge can undo; a parent's number of children never changes.
"""
from __future__ import annotations

import math

import numpy as np


def topological_order(node_parent: np.ndarray) -> np.ndarray:
    """Node indices sorted so that each parent comes before its children."""
    n = node_parent.size
    idx = np.arange(n)
    depth = np.where(node_parent == idx, 0, 1)
    jump = node_parent.copy()
    while True:
        step = depth[jump]
        if not step.any():
            break
        depth = depth + step
        jump = jump[jump]
    return np.argsort(depth, kind="stable")


def reduce_pfa_tree(node_parent: np.ndarray, log_pfa: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Indices of the regions left after prune/merge, i.e. the leaves of the reduced tree (sorted).

    node_parent[i] == i marks a root (a forest is fine). order lists parents before children; when
    None it is derived from node_parent (pass it when node_parent[i] < i already holds: np.arange).
    """
    node_parent = np.asarray(node_parent, dtype=np.int64)
    n = node_parent.size
    if order is None:
        order = topological_order(node_parent)
    par = node_parent.tolist()
    val = np.asarray(log_pfa, dtype=np.float64).tolist()
    is_root = node_parent == np.arange(n)
    nchild = np.bincount(node_parent[~is_root], minlength=n).tolist()

    child_min = [math.inf] * n
    child_best = [-1] * n
    all_leaf = [True] * n
    is_leaf = [False] * n
    best = [-1] * n
    for node in reversed(np.asarray(order).tolist()):
        nc = nchild[node]
        v = val[node]
        if nc == 0:
            leaf, b, bv = True, node, v
        elif not all_leaf[node]:
            leaf, b, bv = False, -1, 0.0
        elif nc == 1:
            if v < child_min[node]:
                leaf, b, bv = True, node, v
            else:
                leaf, b, bv = True, child_best[node], child_min[node]
        elif v < child_min[node]:
            leaf, b, bv = True, node, v
        else:
            leaf, b, bv = False, -1, 0.0
        is_leaf[node] = leaf
        best[node] = b
        p = par[node]
        if p != node:
            if not leaf:
                all_leaf[p] = False
            elif bv < child_min[p] or child_best[p] < 0:
                child_min[p] = bv
                child_best[p] = b
    leaf_arr = np.asarray(is_leaf, dtype=bool)
    top_of_collapsed = leaf_arr & (is_root | ~leaf_arr[node_parent])
    return np.sort(np.asarray(best, dtype=np.int64)[top_of_collapsed])
