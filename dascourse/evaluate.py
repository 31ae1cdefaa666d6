"""Kept only because published notebooks (chapters 6 and 7) import from here: the scores now live in
dascourse.metrics, the baselines in dascourse.baselines, full patching in dascourse.interventions."""
from .baselines import neuron_order, pair_states, pca_directions, subspace
from .interventions import FullPatch
from .metrics import score_table, scores

# The old function, as an instance of its class: h' = h_source, no parameters, nothing to change.
full_patch = FullPatch()

__all__ = ["full_patch", "neuron_order", "pair_states", "pca_directions", "score_table", "scores", "subspace"]
