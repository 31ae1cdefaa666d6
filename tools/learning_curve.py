"""How many entities a user needs: held-out Cause against the number of training entities (the city table).

The chapter's split (dc.split_by_city(known, 0.2, seed 0)) fixes the held-out entities: their seen- and
unseen-country ones together, as `python -m dascourse evaluate` scores them. For each size n, the first n
training entities of one fixed permutation (seed 0: the 10 are among the 20, and so on) train one rotation
per seed with the course's DAS settings (dc.course_settings(): layer, k, lr, batch size, steps, as chosen by
`make selection`), the seeds stacked in one train_das_many call (the seed sets
R_k's start and the batches). Held-out Cause has a 95% interval from resampling entities
(metrics.entity_interval): it covers which held-out entities were drawn, the seeds cover the training's
randomness; which n training entities were drawn is not varied (each size costs about 1.5 minutes).

    make learning-curve             # writes dascourse/data/learning_curve.csv (numeric mode; 8 min measured at
                                    # the course's settings, layer 16, k = 64, 16 pairs per step)
    python tools/learning_curve.py --sizes 10 --seeds 0 --steps 2 --out /tmp/lc.csv   # a quick smoke run
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import dascourse as dc

HELD_OUT_PAIRS = 512


def curve_rows(model, chosen, held_pairs, seeds, knobs):
    """Train one rotation per seed on the pairs of the entities `chosen`; score each on held-out Cause."""
    pairs = dc.make_pairs(model, chosen)
    start = time.time()
    trained = dc.train_das_many(model, pairs, knobs["layer"], [(knobs["k"], seed) for seed in seeds], knobs["steps"],
                             knobs["lr"], knobs["batch_size"], progress=False)
    seconds = time.time() - start
    rows = []
    for seed, (rotation, losses) in zip(seeds, trained):
        with torch.no_grad():
            held_out = dc.score_row(dc.scores(model, held_pairs, knobs["layer"], rotation, keep=()),
                                    lambda score: f"held_out_{score}")
        rows.append({"n_train_entities": len(chosen), "seed": seed, "n_train_pairs": len(pairs), **held_out,
                     "loss_last_10": float(np.mean(losses[-10:])), "train_seconds_all_seeds": seconds})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,20,40,80,all", help="training entities per run ('all': every one)")
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the course's)")
    parser.add_argument("--out", required=True, type=Path, help="CSV to write, one row per size and seed")
    args = parser.parse_args(argv)
    settings = dc.course_settings()
    knobs = {**settings, "steps": args.steps or settings["steps"]}
    model = dc.load_model()
    train_rows, test_rows, unseen_rows = dc.course_split(model)
    held_out = pd.concat([test_rows, unseen_rows], ignore_index=True)
    held_pairs = dc.make_pairs(model, held_out, n=HELD_OUT_PAIRS, seed=0)
    sizes = [len(train_rows) if s == "all" else int(s) for s in args.sizes.split(",")]
    order = np.random.default_rng(0).permutation(len(train_rows))
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, start = [], time.time()
    for n in sizes:
        rows += curve_rows(model, train_rows.iloc[order[:n]], held_pairs, seeds, knobs)
        print(f"{n} entities: Cause {[round(r['held_out_cause'], 3) for r in rows[-len(seeds):]]} "
              f"({time.time() - start:.0f} s so far)", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).round(4)
    table["n_held_out_entities"], table["n_held_out_pairs"] = len(held_out), len(held_pairs)
    for name, value in knobs.items():
        table[name] = value
    with dc.atomic_open(args.out, "w") as f:  # a killed run leaves the old file
        table.to_csv(f, index=False)
    print(table.to_string(index=False))
    print(f"total {time.time() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
