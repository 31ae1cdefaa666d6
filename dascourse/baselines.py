"""Baselines (chapter 6): interventions that patch the way DAS does but choose R_k instead of learning it.

Each is a FixedSubspace, h' = h_base + R_k^T R_k (h_source - h_base), with R_k from: random orthonormal
rows (DAS before training), k standard basis vectors (the best k neurons, ranked as in chapter 2), or the
top-k principal directions of h_source - h_base. Full patching, h' = h_source (interventions.FullPatch),
is the case k = d.
"""
import torch

from .interventions import FixedSubspace, check_k
from .neurons import logit_diff_grad, rank_neurons
from .pairs import answer_ids, source_states
from .prompts import make_prompt


def subspace(R_k):
    """The fixed swap h' = h_base + R_k^T R_k (h_source - h_base) for given orthonormal rows R_k [k, d]:
    a FixedSubspace (a frozen RotatedSubspace whose R_k is set), so baselines and DAS run the very same code."""
    if R_k.ndim != 2:
        raise ValueError(f"R_k must be a [k, d] matrix, got shape {tuple(R_k.shape)}.")
    k, d = R_k.shape
    check_k(k, d)
    return FixedSubspace(d, k, R_k)


def pair_states(model, pairs, layer, attribute="country", template=0):
    """h_base and h_source of every pair ([N, d] each), from the prompts asking for `attribute`."""
    states = source_states(model, list(pairs["base"]) + list(pairs["source"]), layer, attribute, template)
    return torch.stack([states[c] for c in pairs["base"]]), torch.stack([states[c] for c in pairs["source"]])


def pca_directions(h_base, h_source, k):
    """R_k [k, d]: the top-k principal directions of the differences h_source - h_base [N, d], i.e. the
    first k right singular vectors of the difference matrix. Not centred: the patch adds the
    difference itself, so we want the directions that hold most of its length², mean included."""
    diff = h_source - h_base
    check_k(k, diff.shape[-1])
    if k > len(diff):
        raise ValueError(f"k={k} principal directions need at least k pairs; got {len(diff)}.")
    return torch.linalg.svd(diff, full_matrices=False).Vh[:k]


def neuron_order(model, pairs, layer):
    """Neurons of h at `layer`, best first, ranked by attribution on `pairs` (chapter 2): the mean of
    d(logit[source country] - logit[base country]) / d h_base * (h_source - h_base)."""
    h_base, h_source = pair_states(model, pairs, layer)
    grad = logit_diff_grad(model, [make_prompt(c) for c in pairs["base"]], list(pairs["base"]), layer,
                           answer_ids(model, pairs["source_country"]), answer_ids(model, pairs["base_country"]))
    return rank_neurons(h_base, h_source, grad).cpu()  # indices, to pick rows of a CPU matrix
