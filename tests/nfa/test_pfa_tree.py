import numpy as np
import pytest

from core.nfa import build_component_tree, reduce_pfa_tree
from core.nfa.pfa_tree import topological_order

from .toy_trees import FIGURE_5_3, literal_prune_merge


def figure_nodes():
    tree = build_component_tree(FIGURE_5_3)
    w = FIGURE_5_3.shape[1]
    node_of = lambda y, x: int(tree.pixel_node[y * w + x])  # noqa: E731
    names = {
        "L1": node_of(0, 0),
        "L5,1": node_of(2, 2),
        "L6,1": node_of(2, 1),
        "L7,1": node_of(3, 3),
        "L9,1": node_of(1, 2),
        "L9,2": node_of(1, 4),
        "L10,1": node_of(1, 1),
    }
    return tree, names


def run_figure(pfa_by_name):
    tree, names = figure_nodes()
    values = np.zeros(tree.n_nodes)
    for name, v in pfa_by_name.items():
        values[names[name]] = v
    kept = reduce_pfa_tree(tree.node_parent, values)
    inverse = {v: k for k, v in names.items()}
    assert sorted(kept.tolist()) == literal_prune_merge(tree.node_parent.tolist(), values.tolist())
    return {inverse[i] for i in kept.tolist()}


def test_figure_branch_pruned_and_parent_not_merged():
    kept = run_figure({"L10,1": -3, "L9,1": -8, "L6,1": -5, "L9,2": -4, "L7,1": -2, "L5,1": -6, "L1": 0})
    assert kept == {"L9,1", "L9,2", "L7,1"}


def test_figure_parent_more_significant_than_all_leaves_merges():
    kept = run_figure({"L10,1": -3, "L9,1": -8, "L6,1": -5, "L9,2": -4, "L7,1": -2, "L5,1": -9, "L1": 0})
    assert kept == {"L5,1"}


def test_figure_merge_then_new_branch_reaches_the_root():
    kept = run_figure({"L10,1": -3, "L9,1": -8, "L6,1": -5, "L9,2": -4, "L7,1": -2, "L5,1": -9, "L1": -10})
    assert kept == {"L1"}


def test_merge_needs_strictly_better_parent():
    # root with two leaves; equal value does not merge
    parent = np.array([0, 0, 0])
    assert reduce_pfa_tree(parent, np.array([-2.0, -2.0, -1.0])).tolist() == [1, 2]
    assert reduce_pfa_tree(parent, np.array([-2.5, -2.0, -1.0])).tolist() == [0]


def test_parent_with_a_non_leaf_child_never_merges():
    #      0
    #    /   \
    #   1     2
    #  / \
    # 3   4
    parent = np.array([0, 0, 0, 1, 1])
    values = np.array([-100.0, -1.0, -2.0, -5.0, -6.0])
    # 1 keeps its leaves (they beat it), so 0 has a non-leaf child and cannot absorb anything
    assert reduce_pfa_tree(parent, values).tolist() == [2, 3, 4]


def test_single_chain_keeps_its_best_node_deepest_on_ties():
    parent = np.array([0, 0, 1, 2, 3])
    assert reduce_pfa_tree(parent, np.array([0.0, -3.0, -7.0, -1.0, -2.0])).tolist() == [2]
    assert reduce_pfa_tree(parent, np.array([0.0, -7.0, -7.0, -7.0, -2.0])).tolist() == [3]
    assert reduce_pfa_tree(parent, np.zeros(5)).tolist() == [4]


def test_unsorted_node_numbering_and_forest():
    # two trees, children numbered before parents
    parent = np.array([2, 2, 2, 5, 5, 5])
    values = np.array([-1.0, -4.0, -2.0, -3.0, -1.0, -9.0])
    order = topological_order(parent)
    assert all(np.flatnonzero(order == parent[i])[0] <= np.flatnonzero(order == i)[0] for i in range(6))
    # tree {0,1 under 2}: -2 does not beat leaf 1 (-4); tree {3,4 under 5}: -9 beats both, merges
    assert reduce_pfa_tree(parent, values).tolist() == [0, 1, 5]


@pytest.mark.parametrize("seed", range(40))
def test_random_trees_match_the_literal_procedure(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    parent = np.array([0] + [int(rng.integers(0, i)) for i in range(1, n)])
    values = -rng.integers(0, 6, n).astype(float)  # many ties and zeros on purpose
    assert reduce_pfa_tree(parent, values).tolist() == literal_prune_merge(parent.tolist(), values.tolist())
