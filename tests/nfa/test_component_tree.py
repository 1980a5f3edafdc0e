import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import max_tree

from core.nfa import build_component_tree
from core.nfa.component_tree import max_tree_parents

from .toy_trees import FIGURE_5_3


def node_sets(tree):
    """Pixel set of every node, from the pixel -> smallest node map and the parent array."""
    members = [set() for _ in range(tree.n_nodes)]
    for pixel, node in enumerate(tree.pixel_node.tolist()):
        while True:
            members[node].add(pixel)
            if tree.node_parent[node] == node:
                break
            node = int(tree.node_parent[node])
    return members


def test_figure_5_3_tree():
    tree = build_component_tree(FIGURE_5_3)
    levels = tree.node_level.tolist()
    by_level = {}
    for i, lev in enumerate(levels):
        by_level.setdefault(lev, []).append(i)
    assert sorted(levels) == [1, 5, 6, 7, 9, 9, 10]
    (root,), (l5,), (l6,), (l7,), (l10,) = (by_level[v] for v in (1, 5, 6, 7, 10))
    w = FIGURE_5_3.shape[1]
    l9_1 = next(i for i in by_level[9] if 1 * w + 2 in node_sets(tree)[i])
    l9_2 = next(i for i in by_level[9] if i != l9_1)
    parent = tree.node_parent
    assert parent[root] == root
    assert parent[l5] == root
    assert {parent[l6], parent[l9_2], parent[l7]} == {l5}
    assert parent[l9_1] == l6 and parent[l10] == l9_1
    area = dict(zip((root, l5, l6, l7, l9_1, l9_2, l10), (30, 8, 3, 1, 2, 1, 1)))
    assert {i: int(tree.node_area[i]) for i in area} == area


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("levels", [None, 3, 6])
def test_nodes_are_the_connected_components_of_upper_level_sets(seed, levels):
    rng = np.random.default_rng(seed)
    u = rng.random((rng.integers(1, 9), rng.integers(1, 9)))
    if levels:
        u = np.floor(u * levels)
    tree = build_component_tree(u)
    members = node_sets(tree)
    flat = u.ravel()
    seen = set()
    for node in range(tree.n_nodes):
        level = tree.node_level[node]
        labels, _ = ndimage.label(u >= level)
        seed_pixel = next(iter(members[node]))
        component = set(np.flatnonzero(labels.ravel() == labels.ravel()[seed_pixel]).tolist())
        assert members[node] == component
        assert tree.node_area[node] == len(component)
        assert flat[list(component)].min() == level
        assert tree.node_parent[node] < node or node == 0
        seen.add((level, frozenset(component)))
    all_components = set()
    for level in np.unique(u):
        labels, n = ndimage.label(u >= level)
        for c in range(1, n + 1):
            comp = np.flatnonzero(labels.ravel() == c)
            all_components.add((flat[comp].min(), frozenset(comp.tolist())))
    assert seen == all_components


@pytest.mark.parametrize("shape", [(9, 7), (16, 16), (3, 12)])
def test_fast_builder_agrees_with_scikit_image(shape):
    rng = np.random.default_rng(1)
    for u in (rng.random(shape), np.floor(rng.random(shape) * 4)):
        parent, order = max_tree(u, connectivity=1)
        fast_parent, fast_order = max_tree_parents(u)
        np.testing.assert_array_equal(fast_parent, parent.ravel())
        np.testing.assert_array_equal(fast_order, order)
