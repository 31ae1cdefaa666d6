"""Patch single neurons (coordinates of h) -- chapter 2's baseline, and the "best k neurons" control later.

A neuron here is one coordinate of the residual stream h in R^d (d = 576 for SmolLM2-135M). Patching a
set of neurons swaps those coordinates from the source run into the base run and keeps the rest.
"""
import torch

from .interventions import check_k, swap_coordinates
from .model import torch_module
from .patching import patch

NEURONS = "choose between 1 and d={d} neurons"  # check_k's fix for a count of neurons


def neuron_patch(h_base: torch.Tensor, h_source: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """h' = h_base + m * (h_source - h_base), m a 0/1 mask of shape [d] or [B, d].

    Neurons with m_i = 1 take the source's value, the others keep the base's. It is differentiable in
    h_base, h_source and m, and broadcasts a single [d] mask over a batch.
    """
    if h_base.shape != h_source.shape:
        raise ValueError(f"h_base has shape {tuple(h_base.shape)} but h_source {tuple(h_source.shape)}.")
    if mask.shape[-1] != h_base.shape[-1]:
        raise ValueError(f"The mask has {mask.shape[-1]} entries but h has d={h_base.shape[-1]} neurons.")
    return swap_coordinates(h_base, h_source, mask.to(h_base))  # a CPU float mask works on a GPU model too


def top_k_mask(order, k: int) -> torch.Tensor:
    """0/1 mask [d] that selects the first k neurons of `order` (a ranking, most important first)."""
    check_k(k, len(order), NEURONS)
    mask = torch.zeros(len(order))
    mask[order[:k]] = 1.0
    return mask


def random_masks(n: int, d: int, k: int, seed: int = 0) -> torch.Tensor:
    """n independent 0/1 masks [n, d], each selecting k neurons uniformly at random."""
    check_k(k, d, NEURONS)
    g = torch.Generator().manual_seed(seed)
    order = torch.rand(n, d, generator=g).argsort(dim=1)  # a random permutation per row
    return (order < k).float()


def rank_neurons(h_base: torch.Tensor, h_source: torch.Tensor, grad: "torch.Tensor | None" = None) -> torch.Tensor:
    """Neuron indices, most important first, from pairs of states h_base, h_source [B, d].

    Without `grad`: by mean |h_source - h_base| over pairs (the neurons the patch changes most).
    With `grad` (d metric / d h_base, [B, d]): by attribution, mean of grad * (h_source - h_base), the
    first-order estimate of how much swapping each neuron alone raises the metric.
    """
    if h_base.shape != h_source.shape or h_base.ndim != 2:
        raise ValueError(f"Pass h_base and h_source of the same shape [B, d]; got {tuple(h_base.shape)} "
                         f"and {tuple(h_source.shape)}.")
    diff = h_source - h_base
    if grad is None:
        scores = diff.abs().mean(0)
    else:
        if grad.shape != diff.shape:
            raise ValueError(f"grad has shape {tuple(grad.shape)}; it must match h_base {tuple(h_base.shape)}.")
        scores = (grad * diff).mean(0)
    return scores.argsort(descending=True)


def logit_diff_grad(model, prompts: "list[str]", cities: "list[str]", layer: int, source_ids, base_ids) -> torch.Tensor:
    """d (logit[source answer] - logit[base answer]) / d h_base at (layer, city's last token): [B, d].

    The gradient is taken through `patch` with h' = h_base + delta at delta = 0, so d/d delta = d/d h_base.
    """
    if not len(prompts) == len(source_ids) == len(base_ids):
        raise ValueError(f"{len(prompts)} prompts, {len(source_ids)} source_ids and {len(base_ids)} base_ids: "
                         "pass one source answer and one base answer per prompt.")
    delta = torch.zeros(len(prompts), model.config.hidden_size, device=torch_module(model).device, requires_grad=True)
    logits = patch(model, prompts, cities, layer, lambda h_base: h_base + delta)
    rows = torch.arange(len(prompts))
    metric = (logits[rows, source_ids] - logits[rows, base_ids]).sum()
    metric.backward()
    return delta.grad
