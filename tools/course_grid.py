"""The course's settings and chapter 6's k curve, from one grid of training runs (`make selection`).

Cities: dc.course_facts(model, KEEP) (country known; continent and language blanked where the model gets
them wrong), split as `select` splits them (selection.split_three_ways, split seed 0):

    fit        -> the pairs every run trains on
    validation -> VAL_PAIRS pairs: every choice is made on them
    held_out   -> chapter 5's held-out cities (course_split's test and unseen): never used to choose;
                  the k curve scores them once the choice is made

Runs (100 steps of 16 pairs, lr 3e-3, seeds 0-2; one train_das_many stack per layer and loss):
    DAS    (country alone)                  at every layer of LAYERS and k of DAS_KS
    MDAS   (country, keeping continent and language: select --keep) at every layer and k of MDAS_KS
and, scored on the same validation pairs as reference rows, full patching per layer and one random
subspace per (layer, k) (seed 0). Every run is scored with RAVEL's Cause, Isolate (continent, language)
and Disentangle, with entity intervals, and its per-pair hits are kept (so paired differences can be
recomputed from the CSV alone, dascourse.selection.choose_*).

The choices (dascourse/selection.py):
    DAS  (chapters 5-6, "is the country in a small subspace?"): at each layer, k* = argmax_k mean Cause;
         the smallest k whose seed-averaged Cause minus k*'s has a paired 95% interval reaching 0; the layer
         whose k* has the highest mean Cause.
    MDAS (chapter 7, "can it be moved alone?"): argmax mean validation Disentangle over (layer, k).

Then the k curve at the chosen DAS layer, on HELD_OUT_PAIRS pairs of held-out cities: the DAS and MDAS
runs of that layer (no retraining), a random subspace per k and seed, PCA of h_source - h_base and the best
k neurons by attribution per k, full patching (k = d), and RAVEL's differentiable binary masks (L1 weights
MASK_SPARSITIES, three seeds each; a mask's k is the size of its m > 0.5 set, learnt, not set).

Writes (atomically): dascourse/data/course_selection.csv (validation rows), course_selection.json (the
choices, the pairs the hits refer to, run time), evaluation_ksweep.csv (held-out rows) and
evaluation_pairs.json. Trained runs are cached in _build/course_grid/ (a killed run resumes there).

    make selection                                    # the committed files (numeric mode; ~70 min on 2 cores)
    python tools/course_grid.py --smoke --out-dir /tmp/grid   # 2 steps, 1 seed, 2 layers: a quick check
"""
import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch

import dascourse as dc
from dascourse.selection import choose_das, choose_mdas, pair_lists, result_row, rotation_scores, split_three_ways

ROOT = Path(__file__).resolve().parents[1]
KEEP = ("continent", "language")
LAYERS, DAS_KS, MDAS_KS, SEEDS = (8, 12, 16), (1, 4, 16, 64, 256), (4, 16, 64), (0, 1, 2)
KNOBS = dict(lr=3e-3, batch_size=16, steps=100)
VAL_PAIRS, HELD_OUT_PAIRS = 256, 256  # Cause's pairs
ISOLATE_PAIRS = 128  # per kept attribute: Isolate's seeded sample (half of Cause's, to keep the grid near an hour)
MASK_SPARSITIES = (0.03, 0.1, 0.2, 0.3)


class Grid:
    """Trains (or loads from the cache) one stack of runs per (layer, loss), and scores swaps."""

    def __init__(self, model, fit_pairs, knobs, cache, seeds):
        self.model, self.fit_pairs, self.knobs, self.cache, self.seeds = model, fit_pairs, knobs, cache, seeds
        cache.mkdir(parents=True, exist_ok=True)

    def runs(self, layer, ks, keep):
        """{(k, seed): trained swap} for one stack: DAS (keep=()) or MDAS at `layer`."""
        name = f"{'mdas' if keep else 'das'}_L{layer}_k{'-'.join(map(str, ks))}_s{'-'.join(map(str, self.seeds))}" \
               f"_steps{self.knobs['steps']}.pt"
        path = self.cache / name
        if path.exists():
            states = torch.load(path)
            return {(k, s): load(dc.fresh_rotation(self.model, k, s), states[(k, s)]) for k, s in states}
        start = time.time()
        pairs = [(k, s) for k in ks for s in self.seeds]
        trained = dc.train_das_many(self.model, self.fit_pairs, layer, pairs, keep=keep, progress=False,
                                    **self.knobs)
        swaps = {run: swap for run, (swap, _) in zip(pairs, trained)}
        save({run: swap.state_dict() for run, swap in swaps.items()}, path)
        log(f"trained {'MDAS' if keep else 'DAS'} at layer {layer}, {len(pairs)} runs: {time.time() - start:.0f} s")
        return swaps

    def masks(self, layer, seed):
        """RAVEL's differentiable binary masks at `layer`, one per L1 weight of MASK_SPARSITIES."""
        path = self.cache / f"dbm_L{layer}_s{seed}_steps{self.knobs['steps']}.pt"
        d = self.model.config.hidden_size
        if path.exists():
            return [load(dc.SparseNeuronMask(d, lam), state) for lam, state in zip(MASK_SPARSITIES, torch.load(path))]
        start = time.time()
        settings = dc.TrainSettings(seed=seed, progress=False, **self.knobs)
        masks = [mask for mask, _ in dc.train_sparse_masks(self.model, self.fit_pairs, layer, MASK_SPARSITIES,
                                                           settings=settings)]
        save([mask.state_dict() for mask in masks], path)
        log(f"trained {len(masks)} masks at layer {layer}, seed {seed}: {time.time() - start:.0f} s")
        return masks

    def score(self, pairs, layer, swap):
        return rotation_scores(self.model, pairs, layer, swap.to(dc.torch_module(self.model).device), "country",
                               KEEP, 0, ISOLATE_PAIRS)


def save(states, path):
    """torch.save through a temporary file: a killed run leaves no half-written cache entry."""
    torch.save(states, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


def load(swap, state):
    swap.load_state_dict(state)
    return swap


def log(text):
    print(text, file=sys.stderr, flush=True)


def write_csv(table, path):
    with dc.atomic_open(path, "w") as f:
        table.to_csv(f, index=False)


def write_json(data, path):
    with dc.atomic_open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def validation_rows(grid, val_pairs, layers, das_ks, mdas_ks, d):
    """One row per (method, layer, k, seed) on the validation pairs, and the pairs the hits refer to."""
    rows, pairs = [], None
    for layer in layers:
        for method, ks, keep in (("DAS", das_ks, ()), ("MDAS", mdas_ks, KEEP)):
            for (k, seed), swap in grid.runs(layer, ks, keep).items():
                result = grid.score(val_pairs, layer, swap)
                pairs = pairs or pair_lists(result)
                rows.append({"method": method, "layer": layer, "k": k, "seed": seed, **result_row(result)})
        for k in sorted(set(das_ks) | set(mdas_ks)):
            for seed, swap in dc.random_subspaces(d, k, grid.seeds[:1]).items():  # one draw: a reference line
                rows.append({"method": "random subspace", "layer": layer, "k": k, "seed": seed,
                             **result_row(grid.score(val_pairs, layer, swap))})
        rows.append({"method": "full patching", "layer": layer, "k": d, "seed": 0,
                     **result_row(grid.score(val_pairs, layer, dc.FullPatch()))})
        log(f"scored layer {layer} on {len(val_pairs)} validation pairs")
    return pd.DataFrame(rows), pairs


def curve_rows(grid, held_out, layer, das_ks, mdas_ks, d):
    """Chapter 6's k curve at `layer` on the held-out pairs: one row per (method, k, seed)."""
    rows, pairs = [], None

    def add(method, k, seed, swap, **extra):
        nonlocal pairs
        result = grid.score(held_out, layer, swap)
        pairs = pairs or pair_lists(result)
        rows.append({"method": method, "k": k, "seed": seed, **extra, **result_row(result)})

    for method, ks, keep in (("DAS", das_ks, ()), ("MDAS", mdas_ks, KEEP)):
        for (k, seed), swap in grid.runs(layer, ks, keep).items():
            add(method, k, seed, swap)
    order = dc.neuron_order(grid.model, grid.fit_pairs.sample(n=64, random_state=0), layer)
    directions = dc.pca_directions(*dc.pair_states(grid.model, grid.fit_pairs.sample(n=512, random_state=0), layer),
                                   max(das_ks))
    for k in das_ks:
        add("PCA of differences", k, 0, dc.subspace(directions[:k]))
        add("best k neurons", k, 0, dc.subspace(torch.eye(d)[order[:k]]))
        for seed, swap in dc.random_subspaces(d, k, grid.seeds).items():
            add("random subspace", k, seed, swap)
    for seed in grid.seeds:
        for lam, mask in zip(MASK_SPARSITIES, grid.masks(layer, seed)):
            if mask.k > 0:  # a mask that kept no neuron patches nothing
                add("learned mask (DBM)", mask.k, seed, mask.neuron_swap(), sparsity=lam)
    add("full patching", d, 0, dc.FullPatch())
    log(f"scored the k curve at layer {layer} on {len(held_out)} held-out pairs")
    return pd.DataFrame(rows), pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=ROOT / "dascourse" / "data", type=Path)
    parser.add_argument("--cache", default=ROOT / "_build" / "course_grid", type=Path)
    parser.add_argument("--smoke", action="store_true", help="2 steps, seed 0, layers 8 and 12, few k: a check")
    args = parser.parse_args(argv)
    layers, das_ks, mdas_ks, seeds, knobs = LAYERS, DAS_KS, MDAS_KS, SEEDS, dict(KNOBS)
    n_val, n_held_out = VAL_PAIRS, HELD_OUT_PAIRS
    if args.smoke:
        layers, das_ks, mdas_ks, seeds, knobs = (8, 12), (1, 4, 64), (4, 16), (0,), {**KNOBS, "steps": 2}
        n_val = n_held_out = 32
    start = time.time()
    model = dc.load_model()
    d = model.config.hidden_size
    facts = dc.course_facts(model, KEEP)
    fit, val, held_out_cities = split_three_ways(facts, "country", 0)
    train_cities, test_cities, unseen_cities = dc.course_split(model, KEEP)
    assert set(held_out_cities.city) == set(test_cities.city) | set(unseen_cities.city), "splits disagree"
    fit_pairs = dc.make_pairs(model, fit)
    val_pairs = dc.make_pairs(model, val, n=n_val, seed=0)
    held_out = dc.make_pairs(model, test_cities, n=n_held_out, seed=0)
    grid = Grid(model, fit_pairs, knobs, args.cache, seeds)

    rows, val_pair_lists = validation_rows(grid, val_pairs, layers, das_ks, mdas_ks, d)
    das, mdas = choose_das(rows, val_pair_lists), choose_mdas(rows)
    select_seconds = round(time.time() - start, 1)
    log(f"DAS: layer {das['layer']}, k {das['k']}; MDAS: layer {mdas['layer']}, k {mdas['k']} ({select_seconds} s)")
    curve, held_out_lists = curve_rows(grid, held_out, das["layer"], das_ks, mdas_ks, d)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    common = {**knobs, "seeds": list(seeds), "split_seed": 0}
    write_csv(rows, args.out_dir / "course_selection.csv")
    write_json({"das": {**das, **knobs}, "mdas": {**mdas, **knobs}, **common, "layers": list(layers),
                "das_ks": list(das_ks), "mdas_ks": list(mdas_ks), "keep": list(KEEP), "n_fit_entities": len(fit),
                "n_val_entities": len(val), "n_held_out_entities": len(held_out_cities),
                "n_fit_pairs": len(fit_pairs), "n_val_pairs": len(val_pairs), "seconds": select_seconds,
                "pairs": val_pair_lists}, args.out_dir / "course_selection.json")
    curve.insert(0, "layer", das["layer"])
    write_csv(curve, args.out_dir / "evaluation_ksweep.csv")
    write_json({"layer": das["layer"], **common, "n_held_out_cities": len(test_cities),
                "seconds": round(time.time() - start, 1), "pairs": held_out_lists},
               args.out_dir / "evaluation_pairs.json")
    log(f"done: {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
