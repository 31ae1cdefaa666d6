"""Checks for chapter 2 (neuron patching). They need no model: small tensors with known answers."""
import torch

from . import check, expect, passed


@check
def check_neuron_patch(neuron_patch):
    """neuron_patch(h_base, h_source, mask) -> h_base + mask * (h_source - h_base)."""
    h_base = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    h_source = torch.tensor([[-1.0, -2.0, -3.0, -4.0], [5.0, 6.0, 7.0, 8.0]])

    ones, zeros = torch.ones(4), torch.zeros(4)
    expect(torch.allclose(neuron_patch(h_base, h_source, ones), h_source),
           "With every neuron in the mask (m = 1), the result must be h_source.")
    expect(torch.allclose(neuron_patch(h_base, h_source, zeros), h_base),
           "With an empty mask (m = 0), the result must be h_base.")

    mask = torch.tensor([1.0, 0.0, 0.0, 1.0])
    expected = torch.tensor([[-1.0, 2.0, 3.0, -4.0], [5.0, 0.0, 0.0, 8.0]])
    got = neuron_patch(h_base, h_source, mask)
    expect(got.shape == expected.shape, f"Expected shape {tuple(expected.shape)}; got {tuple(got.shape)}.")
    expect(torch.allclose(got, expected),
           f"With mask {mask.tolist()} (one mask for the whole batch) expected {expected.tolist()}; got {got.tolist()}.")

    per_row = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    expected = torch.tensor([[-1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 7.0, 0.0]])
    got = neuron_patch(h_base, h_source, per_row)
    expect(torch.allclose(got, expected),
           f"With one mask per row {per_row.tolist()} expected {expected.tolist()}; got {got.tolist()}.")

    h = h_base.clone().requires_grad_(True)
    neuron_patch(h, h_source, mask).sum().backward()
    expect(h.grad is not None and torch.allclose(h.grad, (1 - mask).expand(2, 4)),
           "Gradients must flow to h_base through the neurons that are kept (1 - m); avoid in-place writes.")
    passed("neuron_patch")


@check
def check_rank_neurons(rank_neurons):
    """rank_neurons(h_base, h_source, grad=None) -> neuron indices, most important first."""
    h_base = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    h_source = torch.tensor([[1.0, -3.0, 0.0, 2.0], [2.0, -1.0, 0.5, 1.5]])
    # |h_source - h_base| = [[1, 3, 0, 2], [1, 2, 0.5, 0.5]] -> mean over pairs [1, 2.5, 0.25, 1.25]
    expected = [1, 3, 0, 2]
    got = [int(i) for i in rank_neurons(h_base, h_source)]
    expect(got == expected,
           f"Ranked by mean |h_source - h_base| over pairs, expected {expected}; got {got}. (Average the "
           "absolute differences over pairs, then sort neurons from largest to smallest.)")

    grad = torch.tensor([[-2.0, 1.0, 1.0, 1.0], [1.0, 1.0, 4.0, 1.0]])
    # grad * diff = [[-2, -3, 0, 2], [1, -2, -2, 0.5]] -> mean over pairs [-0.5, -2.5, -1, 1.25]
    expected = [3, 0, 2, 1]
    got = [int(i) for i in rank_neurons(h_base, h_source, grad)]
    expect(got == expected,
           f"Ranked by attribution, mean of grad * (h_source - h_base), expected {expected}; got {got}. Keep the "
           "sign: a neuron whose swap lowers the metric should come last, not first.")
    passed("rank_neurons")
