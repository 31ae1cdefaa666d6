"""Baselines (chapter 6): interventions that patch the way DAS does but choose R_k instead of learning it.

Each is a FixedSubspace, h' = h_base + R_k^T R_k (h_source - h_base), with R_k from: random orthonormal
rows (DAS before training), k standard basis vectors (the best k neurons, ranked as in chapter 2), or the
top-k principal directions of h_source - h_base. Full patching, h' = h_source (interventions.FullPatch),
is the case k = d. One baseline is trained: RAVEL's learned neuron mask (`train_learned_mask`), a soft
mask over the d neurons trained with DAS's loss and budget, scored as the hard mask of its top k neurons;
and RAVEL's differentiable binary masking as published (`fit_sparse_masks`: an L1 price on the mask, the
kept set is {i : m_i > 0.5}, the price chosen per target size on validation pairs).
`cause_by_attribute` measures how much a subspace trained for one attribute moves the others.
"""
import math

import pandas as pd
import torch

from .interventions import FixedSubspace, LearnedNeuronMask, SparseNeuronMask, check_k, seeded
from .metrics import score_row, scores
from .neurons import logit_diff_grad, rank_neurons
from .pairs import answer_ids, source_states
from .prompts import make_prompt
from .train import TrainSettings, settings_from, train, train_das


def subspace(R_k: torch.Tensor) -> FixedSubspace:
    """The fixed swap h' = h_base + R_k^T R_k (h_source - h_base) for given orthonormal rows R_k [k, d]:
    a FixedSubspace (a frozen RotatedSubspace whose R_k is set), so baselines and DAS run the very same code."""
    if R_k.ndim != 2:
        raise ValueError(f"R_k must be a [k, d] matrix, got shape {tuple(R_k.shape)}.")
    k, d = R_k.shape
    check_k(k, d)
    return FixedSubspace(d, k, R_k)


def pair_states(model, pairs: pd.DataFrame, layer: int, attribute: str = "country",
                template=0) -> "tuple[torch.Tensor, torch.Tensor]":
    """h_base and h_source of every pair ([N, d] each), from the prompts asking for `attribute`."""
    states = source_states(model, list(pairs["base"]) + list(pairs["source"]), layer, attribute, template)
    return torch.stack([states[c] for c in pairs["base"]]), torch.stack([states[c] for c in pairs["source"]])


def pca_directions(h_base: torch.Tensor, h_source: torch.Tensor, k: int) -> torch.Tensor:
    """R_k [k, d]: the top-k principal directions of the differences h_source - h_base [N, d], i.e. the
    first k right singular vectors of the difference matrix. Not centred: the patch adds the
    difference itself, so we want the directions that hold most of its length², mean included."""
    diff = h_source - h_base
    check_k(k, diff.shape[-1])
    if k > len(diff):
        raise ValueError(f"k={k} principal directions need at least k pairs; got {len(diff)}.")
    return torch.linalg.svd(diff, full_matrices=False).Vh[:k]


def neuron_order(model, pairs: pd.DataFrame, layer: int) -> torch.Tensor:
    """Neurons of h at `layer`, best first, ranked by attribution on `pairs` (chapter 2): the mean of
    d(logit[source country] - logit[base country]) / d h_base * (h_source - h_base)."""
    h_base, h_source = pair_states(model, pairs, layer)
    grad = logit_diff_grad(model, [make_prompt(c) for c in pairs["base"]], list(pairs["base"]), layer,
                           answer_ids(model, pairs["source_country"]), answer_ids(model, pairs["base_country"]))
    return rank_neurons(h_base, h_source, grad).cpu()  # indices, to pick rows of a CPU matrix


def random_subspaces(d: int, k: int, seeds) -> "dict[int, FixedSubspace]":
    """{seed: the swap h' = h_base + R_k^T R_k (h_source - h_base) with random orthonormal R_k [k, d]}:
    DAS's untrained start for each seed (train.fresh_rotation's draw), frozen. One random subspace is one
    draw; their spread says what "any k-dimensional subspace" scores."""
    return {seed: seeded(FixedSubspace, d, k, seed=seed) for seed in seeds}


def train_side_by_side(model, train_pairs: pd.DataFrame, layer: int, swaps: list, seeds: "list[int]", steps: int = 100,
                       lr: float = 3e-3, batch_size: int = 16, progress: bool = True, attribute: str = "country",
                       name: str = "DAS and controls", settings: "TrainSettings | None" = None) -> list:
    """Train several interventions of any kind (a RotatedSubspace, a LearnedNeuronMask, ...) at `layer` with
    DAS's loss, side by side: run i is train_das(..., swap=swaps[i], seed=seeds[i]) (its own batches, its
    own loss), and one step runs all their batches through the model together, as train_das_many does for
    rotations. settings: a TrainSettings instead of the knobs (its seed unused: `seeds` has one per swap).
    Returns [(swap, losses), ...] in the order of `swaps`."""
    if len(swaps) != len(seeds):
        raise ValueError(f"{len(swaps)} swaps but {len(seeds)} seeds: give one seed per swap.")
    s = settings_from(settings, steps=steps, lr=lr, batch_size=batch_size, progress=progress, attribute=attribute)
    return train(model, train_pairs, [layer] * len(swaps), list(swaps), list(seeds), s, name)


def train_learned_mask(model, train_pairs: pd.DataFrame, layer: int, k: int, steps: int = 100, lr: float = 3e-3,
                       batch_size: int = 16, seed: int = 0, progress: bool = True,
                       settings: "TrainSettings | None" = None) -> "tuple[LearnedNeuronMask, list[float]]":
    """RAVEL's learned neuron mask (interventions.LearnedNeuronMask) trained with DAS's loss and budget:
    train_das(..., k=None, swap=LearnedNeuronMask(d, k)). Returns (mask, losses); score
    `mask.neuron_swap()`, the hard mask of its top k neurons. `seed` draws the batches (the mask starts at
    m = 0.5 everywhere whatever the seed). settings: a TrainSettings instead of the knobs."""
    s = settings_from(settings, steps=steps, lr=lr, batch_size=batch_size, seed=seed, progress=progress)
    return train_das(model, train_pairs, layer, None, swap=LearnedNeuronMask(model.config.hidden_size, k), settings=s)


# The lambda grid of fit_sparse_masks, a factor ~3 apart. At layer 12 with the course's settings (60 steps),
# lambda = 0.03 still kept 123 of 576 neurons and 1e-4 kept 461: the grid reaches up to 1.
SPARSITIES = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def train_sparse_masks(model, train_pairs: pd.DataFrame, layer: int, sparsities=SPARSITIES,
                       temperatures: tuple = (1.0, 0.01), settings: "TrainSettings | None" = None,
                       **knobs) -> "list[tuple[SparseNeuronMask, list[float]]]":
    """One SparseNeuronMask per L1 weight in `sparsities`, trained side by side with DAS's loss plus
    sparsity * sum(m) (train_side_by_side; every run draws the same batches, seeded by settings.seed, so
    the masks differ by their lambda alone). settings or knobs (steps, lr, ...) as for train_das.
    Returns [(mask, losses), ...] in the order of `sparsities`."""
    s = settings_from(settings, **knobs)
    d = model.config.hidden_size
    masks = [SparseNeuronMask(d, lam, temperatures) for lam in sparsities]
    return train_side_by_side(model, train_pairs, layer, masks, [s.seed] * len(masks),
                              name=f"DBM layer {layer}, {len(masks)} sparsities", settings=s)


def nearest_size(kept: list, val_cause: list, k: int) -> int:
    """The index of the run whose kept size is nearest the target k on a log scale,
    |log((kept + 1) / (k + 1))| (so 8 and 32 are equally far from 16), ties to the higher validation Cause."""
    if len(kept) != len(val_cause) or not kept:
        raise ValueError(f"Need one validation Cause per kept size, got {len(kept)} sizes and {len(val_cause)} scores.")
    gap = [abs(math.log((n + 1) / (k + 1))) for n in kept]
    return min(range(len(kept)), key=lambda i: (round(gap[i], 9), -val_cause[i]))


def fit_sparse_masks(model, train_pairs: pd.DataFrame, val_pairs: pd.DataFrame, layer: int, ks,
                     sparsities=SPARSITIES, temperatures: tuple = (1.0, 0.01), settings: "TrainSettings | None" = None,
                     **knobs) -> "tuple[dict, pd.DataFrame]":
    """RAVEL's differentiable binary masking, one mask per target size k in `ks`: train a mask per lambda
    in `sparsities` (train_sparse_masks, once for all ks), score each kept set's Cause on `val_pairs`, and
    for each k choose the lambda whose kept size is nearest k on a log scale, |log((kept + 1) / (k + 1))|,
    ties to the higher validation Cause. The kept size is learnt and reported, never forced to k.

    Returns ({k: the chosen SparseNeuronMask}, table): one row per lambda with its kept size, validation
    Cause (val_cause) and final training loss, and a column chosen_for listing the ks it was chosen for."""
    ks = [ks] if isinstance(ks, int) else list(ks)
    for k in ks:
        check_k(k, model.config.hidden_size, "a target size needs 1 <= k <= d = {d} neurons")
    s = settings_from(settings, **knobs)
    runs = train_sparse_masks(model, train_pairs, layer, sparsities, temperatures, settings=s)
    table = pd.DataFrame({
        "sparsity": [mask.sparsity for mask, _ in runs],
        "kept": [mask.k for mask, _ in runs],
        "val_cause": [scores(model, val_pairs, layer, mask.neuron_swap(), s.attribute, keep=(),
                             template=s.template)["cause"] for mask, _ in runs],
        "final_loss": [losses[-1] if losses else float("nan") for _, losses in runs],
    })
    chosen = {k: runs[nearest_size(list(table["kept"]), list(table["val_cause"]), k)][0] for k in ks}
    table["chosen_for"] = [[k for k in ks if chosen[k] is mask] for mask, _ in runs]
    return chosen, table


def cause_by_attribute(model, pairs_by_attribute: "dict[str, pd.DataFrame]", layer: int, swaps: dict) -> pd.DataFrame:
    """The entanglement table: Cause of each swap on each attribute, with its entity interval.

    pairs_by_attribute: {attribute: pairs whose base and source differ in it (dc.make_pairs(...,
    attribute=a))}; swaps: {row name: swap}. Cause on a = the share of pairs whose patched base, asked for
    a (h_source from the source's prompt for a), answers the source's a. Returns a DataFrame, one row per
    swap, columns <a>, <a>_lo, <a>_hi (`metrics.with_intervals` shows them)."""
    rows = {}
    for name, swap in swaps.items():
        rows[name] = {}
        for a, pairs in pairs_by_attribute.items():
            rows[name].update(score_row(scores(model, pairs, layer, swap, a, keep=()), lambda score: a))  # noqa: B023 (called here)
    return pd.DataFrame(rows).T
