"""Chapter 6's slow grids, as committed command outputs (`make evaluation`, about 20 minutes on 2 cores).

With the course's settings (dc.course_settings(), from dascourse/data/course_selection.json: layer, lr, batch size, steps) and chapter 6's
split (chapter 5's, seed 0), on pairs of the training cities:

1. k sweep with seeds: DAS (a RotatedSubspace) for every k in --ks and seed in --seeds, and one learned
   neuron mask per seed (its training does not depend on k; its top k neurons are scored at each k); the
   untrained controls at each k: one random subspace per seed, the best k neurons by attribution, the top-k
   principal directions of h_source - h_base. Each is scored on chapter 6's 64 held-out pairs (Cause, and
   Isolate on 32 pairs per kept attribute), with entity-resampling 95% intervals.
   -> dascourse/data/evaluation_ksweep.csv, one row per (method, k, seed).
2. Entanglement: DAS at the course's k trained for country (seed 0 of step 1), for continent and for
   language (same settings, pairs of training cities whose values of that attribute differ), each scored by
   Cause on all three attributes (64 held-out pairs per attribute whose values differ).
   -> dascourse/data/entanglement.csv, one row per (trained for, seed).

All runs train side by side in one loop (baselines.train_side_by_side). Rerun after changing the course's
settings or the numeric mode; chapter 6 shows both CSVs.

    make evaluation                                              # numeric mode, the committed CSVs
    python tools/evaluation_grid.py --ks 4 --seeds 0 --steps 2 --out-dir /tmp/grid   # a quick smoke run
"""
import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

import dascourse as dc

ATTRIBUTES = ["country", "continent", "language"]


def chapter_data(model):
    """Chapter 6's cities and pairs: (training cities, held-out cities' facts of all three attributes, held-out pairs)."""
    train_cities, test_cities, _ = dc.course_split(model)
    all_three = dc.known_facts(model, ATTRIBUTES)
    test_facts = all_three[all_three.city.isin(test_cities.city)]
    return train_cities, test_facts, dc.make_pairs(model, test_facts, n=64, seed=0)


def write_csv(table, path):
    with dc.atomic_open(path, "w") as f:  # a killed run leaves the old file
        table.to_csv(f, index=False)


def main(argv=None):
    settings = dc.course_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default=f"16,{settings['k']}", help="comma-separated k (default 16 and the course's k)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--steps", type=int, default=settings["steps"], help="training steps (default: the course's)")
    parser.add_argument("--out-dir", default=Path("dascourse/data"), type=Path, help="where the two CSVs go")
    args = parser.parse_args(argv)
    ks, seeds = [int(k) for k in args.ks.split(",")], [int(s) for s in args.seeds.split(",")]
    layer, k_main = settings["layer"], max(ks)
    budget = dict(steps=args.steps, lr=settings["lr"], batch_size=settings["batch_size"])
    start = time.time()
    model = dc.load_model()
    d = model.config.hidden_size
    train_cities, test_facts, held_out = chapter_data(model)
    train_pairs = dc.make_pairs(model, train_cities)

    # One training loop for everything: DAS per (k, seed), a mask per seed, DAS for continent and language.
    runs = [("DAS", k, s) for k in ks for s in seeds] + [("learned neuron mask", None, s) for s in seeds]
    swaps = [dc.fresh_rotation(model, k, s) if k else dc.LearnedNeuronMask(d, k_main) for _, k, s in runs]
    trained = dict(zip(runs, (swap for swap, _ in dc.train_side_by_side(
        model, train_pairs, layer, swaps, [s for *_, s in runs], progress=False, name="grid", **budget))))
    print(f"trained the grid: {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    for a in ATTRIBUTES[1:]:
        facts_a = dc.known_facts(model, a, table=train_cities)
        (trained[(a, k_main, seeds[0])], _), = dc.train_side_by_side(
            model, dc.make_pairs(model, facts_a, attribute=a), layer, [dc.fresh_rotation(model, k_main, seeds[0])],
            [seeds[0]], attribute=a, progress=False, name=f"DAS for {a}", **budget)
    print(f"trained for continent and language: {time.time() - start:.0f} s", file=sys.stderr, flush=True)

    # 1. The k sweep, on the held-out pairs.
    order = dc.neuron_order(model, train_pairs.sample(n=64, random_state=0), layer)
    directions = dc.pca_directions(*dc.pair_states(model, train_pairs, layer), max(ks))
    rows = []
    for k in ks:
        swaps = {("best k neurons", 0): dc.subspace(torch.eye(d)[order[:k]]), ("PCA of differences", 0): dc.subspace(directions[:k])}
        for s, random in dc.random_subspaces(d, k, seeds).items():
            swaps.update({("DAS", s): trained[("DAS", k, s)], ("random subspace", s): random})
            swaps[("learned neuron mask", s)] = trained[("learned neuron mask", None, s)].neuron_swap(k)  # its top k
        table = dc.score_table(model, held_out, layer, swaps, intervals=True, n_isolate=32)
        rows += [{"method": name, "k": k, "seed": s, **row} for (name, s), row in table.iterrows()]
    ksweep = pd.DataFrame(rows).round(4)
    for key in ("layer", "lr", "batch_size"):
        ksweep[key] = settings[key]
    ksweep["steps"] = args.steps
    write_csv(ksweep, args.out_dir / "evaluation_ksweep.csv")

    # 2. Entanglement: Cause on each attribute of the subspace trained for each attribute.
    pairs_by_attribute = {a: dc.make_pairs(model, test_facts, n=64, seed=0, attribute=a) for a in ATTRIBUTES}
    swaps = {a: trained[("DAS", k_main, seeds[0]) if a == "country" else (a, k_main, seeds[0])] for a in ATTRIBUTES}
    table = dc.cause_by_attribute(model, pairs_by_attribute, layer, swaps)
    entanglement = table.rename_axis("trained for").reset_index().round(4)
    entanglement.insert(1, "seed", seeds[0])
    for key, value in {"layer": layer, "k": k_main, "lr": settings["lr"], "batch_size": settings["batch_size"],
                       "steps": args.steps, "pairs_per_attribute": min(map(len, pairs_by_attribute.values()))}.items():
        entanglement[key] = value
    write_csv(entanglement, args.out_dir / "entanglement.csv")
    print(ksweep.to_string(index=False))
    print(entanglement.to_string(index=False))
    print(f"done: {time.time() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
