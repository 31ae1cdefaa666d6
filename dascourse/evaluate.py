"""Evaluating DAS honestly (chapter 6): RAVEL's scores, and baselines that patch the way DAS does.

For counterfactual pairs (base city, source city) and a swap h' = swap(h_base, h_source) at `layer`:

    Cause       = IIA on the target attribute: the base prompt now answers the source's value
    Isolate[a]  = for a kept attribute a, among pairs whose base and source differ in a: the share
                  whose answer to the prompt asking for a is still the base's value
    Disentangle = (Cause + mean over a of Isolate[a]) / 2

Every method is a swap with RotatedSubspace's call shape, so `scores` judges them all the same way.
The subspace baselines fix R_k instead of training it, h' = h_base + R_k^T R_k (h_source - h_base):
random orthonormal rows (DAS before training), k standard basis vectors (the best k neurons), or the
top-k principal directions of h_source - h_base. Full patching, h' = h_source, is the case k = d.
"""
import pandas as pd
import torch

from .das import answer_ids, check_pair_columns, iia, isolate_pairs, patch_pairs, source_states
from .neurons import logit_diff_grad, rank_neurons
from .prompts import make_prompt
from .rotation import RotatedSubspace, check_k


def full_patch(h_base, h_source):
    """h' = h_source: the whole residual stream (the ceiling for Cause, the floor for Isolate)."""
    return h_source


def subspace(R_k):
    """The fixed swap h' = h_base + R_k^T R_k (h_source - h_base) for given orthonormal rows R_k [k, d]:
    a frozen RotatedSubspace whose R_k is set, so baselines and DAS run the very same code."""
    if R_k.ndim != 2:
        raise ValueError(f"R_k must be a [k, d] matrix, got shape {tuple(R_k.shape)}.")
    k, d = R_k.shape
    check_k(k, d)
    if not torch.allclose(R_k @ R_k.T, torch.eye(k, device=R_k.device), atol=1e-4):
        raise ValueError("R_k's rows must be orthonormal (R_k R_k^T = I); orthonormalize them first, "
                         "e.g. R_k = torch.linalg.qr(R_k.T).Q.T.")
    swap = RotatedSubspace(d, k)
    with torch.no_grad():
        swap.rotate.weight = R_k  # the orthogonal parametrization stores exactly these rows
    return swap.requires_grad_(False)


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


def scores(model, pairs, layer, swap, attribute="country", keep=("continent", "language"), template=0,
           n_isolate=64, seed=0):
    """RAVEL's Cause, Isolate and Disentangle of `swap` at `layer` on `pairs` (from das.make_pairs, with
    base_/source_ columns for `attribute` and every attribute in `keep`).

    Cause: IIA of `attribute` over all pairs. Isolate[a]: among the pairs whose base and source differ
    in a (first answer token), a seeded sample of up to n_isolate; h_source comes from the source's
    prompt asking for a, and we count the patched answers that are still the base's a.
    """
    if not keep or isinstance(keep, str):
        raise ValueError(f"keep={keep!r} must be a tuple of attributes that should stay, e.g. ('continent',).")
    check_pair_columns(pairs, [attribute, *keep])
    cause = iia(patch_pairs(model, pairs, layer, swap, attribute, template),
                answer_ids(model, pairs[f"source_{attribute}"]))
    isolate, n = {}, {}
    for a in keep:
        differ = isolate_pairs(model, pairs, a)
        if len(differ) == 0:
            raise ValueError(f"No pair's base and source differ in {a!r}, so Isolate cannot be measured; "
                             f"use more varied cities or drop {a!r} from keep.")
        sample = differ.sample(n=min(n_isolate, len(differ)), random_state=seed)
        isolate[a] = iia(patch_pairs(model, sample, layer, swap, a, template), answer_ids(model, sample[f"base_{a}"]))
        n[a] = len(sample)
    isolate["mean"] = sum(isolate[a] for a in keep) / len(keep)
    return {"cause": cause, "isolate": isolate, "disentangle": (cause + isolate["mean"]) / 2,
            "n_pairs": len(pairs), "n_isolate": n}


def score_table(model, pairs, layer, swaps, **kwargs):
    """`scores` of each named swap in `swaps` ({name: swap}) as a DataFrame, one row per method:
    cause, isolate of each kept attribute, isolate (their mean), disentangle."""
    rows = {}
    for name, swap in swaps.items():
        s = scores(model, pairs, layer, swap, **kwargs)
        kept = {a: v for a, v in s["isolate"].items() if a != "mean"}
        rows[name] = {"cause": s["cause"], **kept, "isolate": s["isolate"]["mean"], "disentangle": s["disentangle"]}
    return pd.DataFrame(rows).T
