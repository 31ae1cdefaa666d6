"""Checks for chapter 2 (neuron patching). They need no model: small tensors with known answers."""
import torch

from . import check, expect, passed
from ._calls import as_tensor, call

NEURON_SHAPES = ("h_base and h_source are [B, d]; the mask is [d] (one for the whole batch) or [B, d] (one per "
                 "row): h_base + mask * (h_source - h_base) broadcasts both.")


@check
def check_neuron_patch(neuron_patch):
    """neuron_patch(h_base, h_source, mask) -> h_base + mask * (h_source - h_base)."""
    name = "neuron_patch"
    h_base = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    h_source = torch.tensor([[-1.0, -2.0, -3.0, -4.0], [5.0, 6.0, 7.0, 8.0]])
    mask = torch.tensor([1.0, 0.0, 0.0, 1.0])
    expected = torch.tensor([[-1.0, 2.0, 3.0, -4.0], [5.0, 0.0, 0.0, 8.0]])

    got = as_tensor(call(neuron_patch, (h_base, h_source, mask), NEURON_SHAPES), name, "h', shaped like h_base")
    expect(got.shape == expected.shape,
           f"Expected shape {tuple(expected.shape)} (one h' per row of h_base); got {tuple(got.shape)}."
           + (" Your function handles a batch of one: keep every row." if got.numel() == 4 else ""))
    expect(not torch.allclose(got, h_source + mask * (h_base - h_source)),
           "The mask is the wrong way round: neurons with m_i = 1 must take the *source's* value, the others "
           "keep the base's.")
    expect(torch.allclose(got, expected),
           f"With mask {mask.tolist()} (one mask for the whole batch) expected {expected.tolist()}; got {got.tolist()}.")

    ones, zeros = torch.ones(4), torch.zeros(4)
    expect(torch.allclose(as_tensor(call(neuron_patch, (h_base, h_source, ones)), name, "h'"), h_source),
           "With every neuron in the mask (m = 1), the result must be h_source.")
    expect(torch.allclose(as_tensor(call(neuron_patch, (h_base, h_source, zeros)), name, "h'"), h_base),
           "With an empty mask (m = 0), the result must be h_base.")

    per_row = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    expected = torch.tensor([[-1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 7.0, 0.0]])
    got = as_tensor(call(neuron_patch, (h_base, h_source, per_row), NEURON_SHAPES), name, "h'")
    expect(got.shape == expected.shape and torch.allclose(got, expected),
           f"With one mask per row {per_row.tolist()} expected {expected.tolist()}; got {got.tolist()}. Row i "
           "must use its own mask row (use the whole mask, not mask[0]).")

    h = h_base.clone().requires_grad_(True)
    out = neuron_patch(h, h_source, mask)
    expect(out.requires_grad, "No gradient reaches h_base: do not .detach() or go through .tolist()/numpy.")
    out.sum().backward()
    expect(h.grad is not None and torch.allclose(h.grad, (1 - mask).expand(2, 4)),
           "Gradients must flow to h_base through the neurons that are kept (1 - m); avoid in-place writes.")
    passed(name)


@check
def check_rank_neurons(rank_neurons):
    """rank_neurons(h_base, h_source, grad=None) -> neuron indices, most important first."""
    name = "rank_neurons"
    h_base = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    h_source = torch.tensor([[1.0, -3.0, 0.0, 2.0], [2.0, -1.0, 0.5, 1.5]])
    # |h_source - h_base| = [[1, 3, 0, 2], [1, 2, 0.5, 0.5]] -> mean over pairs [1, 2.5, 0.25, 1.25]
    expected = [1, 3, 0, 2]
    shapes = "h_base, h_source (and grad) are [B, d]: average over the B pairs (dim 0), one score per neuron."
    got = as_tensor(call(rank_neurons, (h_base, h_source), shapes), name, "d neuron indices").reshape(-1).long().tolist()
    expect(len(got) == 4, f"Expected all d = 4 neuron indices, most important first; got {got}."
           + (" Average over pairs (dim 0), not over neurons." if len(got) == 2 else ""))
    expect(got != expected[::-1], f"Got {got}: the order is reversed. Sort from largest to smallest "
           "(argsort(descending=True)): the most important neuron comes first.")
    expect(got != [3, 0, 2, 1], f"Got {got}: rank by the mean of the *absolute* differences |h_source - h_base|; "
           "without abs, a neuron that changes a lot downwards ranks last.")
    expect(got == expected,
           f"Ranked by mean |h_source - h_base| over pairs, expected {expected}; got {got}. (Average the "
           "absolute differences over pairs, then sort neurons from largest to smallest.)")

    grad = torch.tensor([[-2.0, 1.0, 1.0, 1.0], [1.0, 1.0, 4.0, 1.0]])
    # grad * diff = [[-2, -3, 0, 2], [1, -2, -2, 0.5]] -> mean over pairs [-0.5, -2.5, -1, 1.25]
    expected = [3, 0, 2, 1]
    got = as_tensor(call(rank_neurons, (h_base, h_source, grad), shapes), name, "d neuron indices").reshape(-1).long().tolist()
    expect(got != expected[::-1], f"Got {got}: the attribution's sign is flipped (or the order reversed). The "
           "score is mean grad * (h_source - h_base), largest first: a swap that raises LD comes first.")
    expect(got not in ([1, 3, 2, 0], [1, 0, 3, 2], [0, 3, 2, 1]), f"Got {got}: that ranks by the size of the "
           "attribution (an abs() somewhere). Keep the sign: a neuron whose swap *lowers* LD (negative "
           "attribution) belongs at the end, not the front.")
    expect(got != [1, 3, 0, 2], f"Got {got}: that is the ranking by |h_source - h_base|; when grad is given, "
           "rank by mean grad * (h_source - h_base) instead.")
    expect(got == expected,
           f"Ranked by attribution, mean of grad * (h_source - h_base), expected {expected}; got {got}. Keep the "
           "sign: a neuron whose swap lowers the metric should come last, not first.")

    one = as_tensor(call(rank_neurons, (h_base[:1], h_source[:1], grad[:1]), shapes), name, "d indices").reshape(-1).long().tolist()
    expect(one == [3, 2, 0, 1], f"With a single pair (B = 1) expected [3, 2, 0, 1]; got {one}. Keep the batch "
           "dimension: no .squeeze().")
    passed(name)
