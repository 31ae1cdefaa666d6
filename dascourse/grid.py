"""A grid of DAS runs and controls, scored on the same pairs: the course's settings and chapter 6's k curve
(tools/course_grid.py) and `python -m dascourse report` are each one such grid.

    runs      one train_das_many stack per (layer, loss): DAS (the attribute alone) or MDAS (keeping `keep`),
              every k and seed of the stack trained at once; cached, so a killed grid resumes
    controls  a random subspace per k and seed, full patching (k = d), the top-k principal directions of
              h_source - h_base, the best k neurons by attribution, RAVEL's differentiable binary masks
              (one per L1 weight; a mask's k is the size of its learnt m > 0.5 set)
    rows      one per (method, layer, k, seed): `score_row`'s scores with entity intervals, n_entities, and
              hits_<score>, the per-pair 0/1 hits as text, so that any two rows' paired difference can be
              recomputed later (grid_files.grid_difference) from pairs(), the pairs the hits refer to
"""
import sys
import time
from pathlib import Path

import torch

from .baselines import neuron_order, pair_states, pca_directions, random_subspaces, subspace, train_sparse_masks
from .interventions import FullPatch, SparseNeuronMask
from .metrics import score_row
from .model import torch_module
from .selection import rotation_scores
from .train import TrainSettings, fresh_rotation, train_das_many

MASK_SPARSITIES = (0.03, 0.1, 0.2, 0.3)  # L1 weights; at 100 steps they keep from ~100 neurons down to a few


def hits_text(correct):
    """Per-pair 0/1 hits as one string, e.g. "0110" (a CSV stays one row per run)."""
    return "".join(str(int(v)) for v in correct)


def result_row(result):
    """A rotation_scores result as table columns: the scores with intervals, n_entities, hits_<score>."""
    row = {key: round(float(v), 4) for key, v in score_row(result).items()}
    row.update({f"hits_{name}": hits_text(c) for name, c in result["correct"].items()})
    row["n_entities"] = result["n_entities_scored"]["cause"]
    return row


def pair_lists(result):
    """{score: [[base, source], ...]}: the pairs each score's hits refer to (the same for every swap)."""
    return {name: [[b, s] for b, s in zip(p["base"], p["source"])] for name, p in result["scored"].items()}


def row_key(row):
    """A row's identity: (layer, method, k, seed, sparsity); sparsity only for masks."""
    sparsity = row.get("sparsity")
    sparsity = None if sparsity is None or sparsity != sparsity else float(sparsity)  # NaN in a read-back CSV
    return int(row["layer"]), row["method"], int(row["k"]), int(row["seed"]), sparsity


def _save(states, path):
    """torch.save through a temporary file: a killed run leaves no half-written cache entry."""
    torch.save(states, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


def _load(swap, state):
    swap.load_state_dict(state)
    return swap


class Grid:
    """Trains (or loads from `cache`) stacks of runs on `fit_pairs` and scores swaps.

    knobs: steps, lr, batch_size; seeds: one run per seed for every (layer, k); attribute: what the runs
    move; keep: what MDAS keeps; isolate: the attributes every score's Isolate is measured on (default
    keep); template: the prompts; n_isolate: Isolate's pairs per attribute; log: where progress lines go."""

    def __init__(self, model, fit_pairs, knobs, cache, seeds, attribute="country", keep=(), isolate=None,
                 template=0, n_isolate=128, log=None, mdas_seeds=None):
        self.model, self.fit_pairs, self.knobs, self.seeds = model, fit_pairs, dict(knobs), tuple(seeds)
        self.mdas_seeds = self.seeds if mdas_seeds is None else tuple(mdas_seeds)
        self.cache, self.attribute, self.keep, self.template = Path(cache), attribute, tuple(keep), template
        self.isolate = self.keep if isolate is None else tuple(isolate)
        self.n_isolate, self.log = n_isolate, log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.cache.mkdir(parents=True, exist_ok=True)

    def _settings(self, **changes):
        return TrainSettings(progress=False, attribute=self.attribute, template=self.template,
                             **{**self.knobs, **changes})

    def runs(self, layer, ks, mdas=False, seeds=None):
        """{(k, seed): trained swap}: one stack of DAS (or, mdas=True, MDAS keeping self.keep) at `layer`, one
        run per k of `ks` and seed of `seeds` (default: self.mdas_seeds or self.seeds)."""
        run_seeds = tuple(seeds) if seeds is not None else self.mdas_seeds if mdas else self.seeds
        seeds = "-".join(map(str, run_seeds))
        path = self.cache / (f"{'mdas' if mdas else 'das'}_L{layer}_k{'-'.join(map(str, ks))}_s{seeds}"
                             f"_steps{self.knobs['steps']}.pt")
        if path.exists():
            states = torch.load(path)
            return {(k, s): _load(fresh_rotation(self.model, k, s), states[(k, s)]) for k, s in states}
        start = time.time()
        runs = [(k, s) for k in ks for s in run_seeds]
        settings = self._settings(keep=self.keep if mdas else ())
        trained = train_das_many(self.model, self.fit_pairs, layer, runs, settings=settings)
        swaps = {run: swap for run, (swap, _) in zip(runs, trained)}
        _save({run: swap.state_dict() for run, swap in swaps.items()}, path)
        self.log(f"trained {'MDAS' if mdas else 'DAS'} at layer {layer}, {len(runs)} runs: {time.time() - start:.0f} s")
        return swaps

    def masks(self, layer, seed, sparsities=MASK_SPARSITIES):
        """RAVEL's differentiable binary masks at `layer`, one per L1 weight, batches seeded by `seed`."""
        d = self.model.config.hidden_size
        path = self.cache / f"dbm_L{layer}_s{seed}_steps{self.knobs['steps']}.pt"
        if path.exists():
            return [_load(SparseNeuronMask(d, lam), state) for lam, state in zip(sparsities, torch.load(path))]
        start = time.time()
        masks = [mask for mask, _ in train_sparse_masks(self.model, self.fit_pairs, layer, sparsities,
                                                        settings=self._settings(seed=seed))]
        _save([mask.state_dict() for mask in masks], path)
        self.log(f"trained {len(masks)} masks at layer {layer}, seed {seed}: {time.time() - start:.0f} s")
        return masks

    def score(self, pairs, layer, swap):
        """rotation_scores of `swap` on `pairs`: Cause, and Isolate of self.isolate with n_isolate pairs each."""
        return rotation_scores(self.model, pairs, layer, swap.to(torch_module(self.model).device), self.attribute,
                               self.isolate, self.template, self.n_isolate)


class _Table:
    """The rows of one table, every one scored on the same `pairs`, and the pairs their hits refer to (those of
    the first row scored). known: {row_key: row} scored before on these pairs: scoring is deterministic, so a
    grid that grows reads them back (course_grid.py --reuse-rows) and never builds their swaps."""

    def __init__(self, grid, pairs, known=None):
        self.grid, self.pairs, self.known, self.rows, self.pair_lists = grid, pairs, known or {}, [], None

    def add(self, layer, build, **key):
        """One row: layer and `key`'s columns (method, k, seed, ...), then result_row of the score of build()."""
        key = {"layer": layer, **key}
        known = self.known.get(row_key(key))
        if known is not None:  # NaN: a column this row lacks in a read-back table (a mask's sparsity)
            self.rows.append({**key, **{c: v for c, v in known.items() if c not in key and v == v}})
            return
        result = self.grid.score(self.pairs, layer, build())
        self.pair_lists = self.pair_lists or pair_lists(result)
        self.rows.append({**key, **result_row(result)})


def _mdas_stacks(mdas_ks, mdas_stacks):
    """MDAS's stacks [(ks, seeds), ...]: mdas_stacks, else one stack of mdas_ks with the grid's MDAS seeds."""
    return list(mdas_stacks or ([(mdas_ks, None)] if mdas_ks else []))


def validation_rows(grid, val_pairs, layers, das_ks, mdas_ks=(), mdas_layers=None, mdas_stacks=None, known=None):
    """Rows on the validation pairs, for choosing: DAS at every (layer, k of das_ks, seed), MDAS at every layer of
    mdas_layers (default: layers) in the stacks mdas_stacks, [(ks, seeds), ...] (default: one stack of mdas_ks and
    the grid's MDAS seeds), and as reference lines a random subspace per (layer, k) (the first seed) and full
    patching per layer. known: rows scored before on val_pairs, read back (`_Table`). Returns (rows as a list of
    dicts, the pairs the hits refer to; None if every row was read back)."""
    d = grid.model.config.hidden_size
    stacks = {False: [(das_ks, None)], True: _mdas_stacks(mdas_ks, mdas_stacks)}
    mdas_ks = sorted({k for ks, _ in stacks[True] for k in ks})
    table = _Table(grid, val_pairs, known)
    for layer in layers:
        for method, mdas in (("DAS", False), ("MDAS", True)):
            if mdas and mdas_layers is not None and layer not in mdas_layers:
                continue
            for ks, seeds in stacks[mdas]:
                for (k, seed), swap in grid.runs(layer, ks, mdas, seeds).items():
                    table.add(layer, lambda swap=swap: swap, method=method, k=k, seed=seed)
        for k in sorted(set(das_ks) | set(mdas_ks)):
            for seed, swap in random_subspaces(d, k, grid.seeds[:1]).items():  # one draw: a reference line
                table.add(layer, lambda swap=swap: swap, method="random subspace", k=k, seed=seed)
        table.add(layer, FullPatch, method="full patching", k=d, seed=0)
        grid.log(f"scored layer {layer} on {len(val_pairs)} validation pairs")
    return table.rows, table.pair_lists


def curve_rows(grid, held_out, layer, das_ks, mdas_ks=(), sparsities=MASK_SPARSITIES, mask_seeds=None,
               mdas_stacks=None, known=None):
    """The k curve at `layer` on the held-out pairs: the DAS runs and the MDAS runs (mdas_stacks as in
    validation_rows; no retraining), per k the top-k principal directions of h_source - h_base (512 training
    pairs), the best k neurons by attribution (64 training pairs; country only) and a random subspace per seed,
    the masks per seed of mask_seeds (default: the grid's) and L1 weight, full patching. known: rows scored
    before on held_out, read back (`_Table`).
    Returns (rows as a list of dicts, the pairs the hits refer to; None if every row was read back)."""
    d = grid.model.config.hidden_size
    table, controls = _Table(grid, held_out, known), {}

    def add(build, **key):
        table.add(layer, build, **key)

    def control(name):  # computed on first use: a grown grid whose control rows are all known skips them
        if not controls:
            fit = grid.fit_pairs
            # attribution ranks neurons by the country logit difference (chapter 2): a country-only control
            controls["order"] = neuron_order(grid.model, fit.sample(n=min(64, len(fit)), random_state=0), layer) \
                if grid.attribute == "country" else None
            states = pair_states(grid.model, fit.sample(n=min(512, len(fit)), random_state=0), layer,
                                 grid.attribute, grid.template)
            controls["pca"] = pca_directions(*states, max(das_ks))
        return controls[name]

    for method, stacks, mdas in (("DAS", [(das_ks, None)], False), ("MDAS", _mdas_stacks(mdas_ks, mdas_stacks), True)):
        for ks, seeds in stacks:
            for (k, seed), swap in grid.runs(layer, ks, mdas, seeds).items():
                add(lambda swap=swap: swap, method=method, k=k, seed=seed)
    for k in das_ks:
        add(lambda k=k: subspace(control("pca")[:k]), method="PCA of differences", k=k, seed=0)
        if grid.attribute == "country":
            add(lambda k=k: subspace(torch.eye(d)[control("order")[:k]]), method="best k neurons", k=k, seed=0)
        for seed, swap in random_subspaces(d, k, grid.seeds).items():
            add(lambda swap=swap: swap, method="random subspace", k=k, seed=seed)
    for seed in grid.seeds if mask_seeds is None else mask_seeds:
        for lam, mask in zip(sparsities, grid.masks(layer, seed, sparsities)):
            if mask.k > 0:  # a mask that kept no neuron patches nothing
                add(mask.neuron_swap, method="learned mask (DBM)", k=mask.k, seed=seed, sparsity=lam)
    add(FullPatch, method="full patching", k=d, seed=0)
    grid.log(f"scored the k curve at layer {layer} on {len(held_out)} held-out pairs")
    return table.rows, table.pair_lists

