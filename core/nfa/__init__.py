"""A contrario (NFA) segmentation: chi-square tails, max-tree regions, prune/merge, N_T, scale merge."""
from core.nfa.component_tree import ComponentTree, build_component_tree
from core.nfa.pfa_tree import reduce_pfa_tree
from core.nfa.polyomino import log10_polyomino_nt
from core.nfa.segmentation import Region, Segmentation, chi2_energy, segment
from core.nfa.tails import log10_chernoff, log10_chi2_sf, log10_level_pfa

__all__ = [
    "ComponentTree",
    "Region",
    "Segmentation",
    "build_component_tree",
    "chi2_energy",
    "log10_chernoff",
    "log10_chi2_sf",
    "log10_level_pfa",
    "log10_polyomino_nt",
    "reduce_pfa_tree",
    "segment",
]
