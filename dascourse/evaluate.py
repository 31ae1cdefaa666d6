"""Deprecated, removed in dascourse 0.4: chapters 6 and 7 of dascourse 0.2 imported from here. Every name is now in
`import dascourse as dc` (dc.<name>); using one from here warns with its new name."""
from ._deprecated import deprecated_names

__getattr__ = deprecated_names(__name__, {
    "neuron_order": "neuron_order",
    "pair_states": "pair_states",
    "pca_directions": "pca_directions",
    "score_table": "score_table",
    "scores": "scores",
    "subspace": "subspace",
    "full_patch": ("FullPatch()", lambda dc: dc.FullPatch()),
})
