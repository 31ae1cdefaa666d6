"""How much chapters 5 and 7 move with the seed: their training runs repeated for several seeds.

Chapter 5 (`--chapter 5`): for each seed, `train_das` with the course settings (dc.course_settings(),
from dascourse/data/course_selection.json: layer, k, lr, batch_size, steps) on the pairs of the chapter's training cities, then
IIA with its 95% entity-resampling interval on the chapter's three evaluation sets (128 training pairs,
128 held-out pairs, 64 unseen-country pairs).

Chapter 7 (`--chapter 7`): for each seed, plain DAS, multi-task DAS and Boundless DAS with the chapter's
knobs (the settings' layer, k and lr; CHAPTER_7 below: fewer steps and smaller batches, so that the
chapter runs in a few minutes), scored with RAVEL's Cause, Isolate and Disentangle and their intervals on
the chapter's held-out pairs; and, for seed 0, plain DAS trained with the full settings, which measures
what the shorter training costs.

Seed 0 is each chapter's own run, so its rows repeat the chapter's tables to the digit when run in the same
numeric mode. The seed sets R_k's random start and the order of the batches; the split of the cities stays
the chapters' (seed 0).

    make seeds                                  # both CSVs in dascourse/data/ (numeric mode; ~25 min on 2 cores)
    python tools/seed_spread.py --chapter 7 --seeds 0 --steps 2 --out /tmp/s.csv   # a quick smoke run
"""
import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

import dascourse as dc

# Chapter 7 trains three methods, two of them with three loss terms per step: with the settings' steps and
# batch that is about 15 minutes on 2 CPU cores, so the chapter trains shorter (stated in the chapter).
CHAPTER_7 = dict(steps=40, batch_size=16)
KEEP = ("continent", "language")


def knobs_of(chapter, steps=None):
    """The settings a chapter trains with: layer, k, lr, batch_size, steps (steps: override, for smoke runs)."""
    s = dc.course_settings()
    knobs = {name: s[name] for name in ("layer", "k", "lr", "batch_size", "steps")}
    if chapter == 7:
        knobs.update(CHAPTER_7)
    return knobs if steps is None else {**knobs, "steps": steps}


def chapter_5_sets(model):
    """Chapter 5's cities and pairs: (train_pairs, {split name: pairs})."""
    train_cities, test_cities, unseen_cities = dc.course_split(model)
    train_pairs = dc.make_pairs(model, train_cities)
    return train_pairs, {
        "train": train_pairs.sample(n=128, random_state=0),
        "held_out": dc.make_pairs(model, test_cities, n=128, seed=0),
        "unseen_country": dc.make_pairs(model, test_cities, unseen_cities, n=64, seed=0),
    }


def chapter_7_pairs(model):
    """Chapter 7's (train_pairs, held_out): every city with a known country, its continent and language
    blanked where the model gets them wrong; held-out pairs of test cities known for all three."""
    train_cities, test_cities, _ = dc.course_split(model, keep=KEEP)
    return dc.make_pairs(model, train_cities), dc.make_pairs(model, test_cities.dropna())


def chapter_5_row(model, train_pairs, sets, seed, knobs):
    """Train one rotation with `seed` and score it: IIA and its interval per evaluation set, the final loss."""
    layer = knobs["layer"]
    rotation, losses = dc.train_das(model, train_pairs, layer, knobs["k"], knobs["steps"], knobs["lr"],
                                 knobs["batch_size"], seed, progress=False)
    row = {"seed": seed, "loss_last_10": sum(losses[-10:]) / max(1, len(losses[-10:]))}
    with torch.no_grad():
        for name, pairs in sets.items():
            row.update(dc.score_row(dc.scores(model, pairs, layer, rotation, keep=()), lambda score: f"iia_{name}"))  # noqa: B023
    return row


def score_row(model, held_out, layer, swap):
    """RAVEL's scores of `swap` on chapter 7's held-out pairs, flat, with their 95% intervals."""
    return dc.score_row(dc.scores(model, held_out, layer, swap, keep=KEEP, n_isolate=64))


def chapter_7_rows(model, train_pairs, held_out, seed, knobs, full):
    """DAS, MDAS and Boundless DAS trained with `seed` and chapter 7's knobs, as in the chapter's cells
    (and, if `full`, DAS with the full settings `full`): one scored row per method."""
    layer, k, lr, steps, batch = (knobs[n] for n in ("layer", "k", "lr", "steps", "batch_size"))
    runs = {"DAS": dict(keep=()), "MDAS": dict(keep=KEEP)}
    rows = []
    for method, extra in runs.items():
        start = time.time()
        swap, losses = dc.train_das(model, train_pairs, layer, k, steps, lr, batch, seed, progress=False, **extra)
        rows.append({"method": method, "seed": seed, "steps": steps, "batch_size": batch, "learnt_k": k,
                     "seconds": round(time.time() - start), **score_row(model, held_out, layer, swap)})
    start = time.time()
    # The chapter's cell seeds torch's global generator, then builds BoundlessSubspace: the same start.
    boundless = dc.seeded(dc.BoundlessSubspace, model.config.hidden_size, boundary=0.25, penalty_weight=1.0, seed=seed)
    boundless, losses = dc.train_das(model, train_pairs, layer, None, steps, lr, batch, seed, progress=False,
                                  keep=KEEP, swap=boundless)
    rows.append({"method": "Boundless DAS", "seed": seed, "steps": steps, "batch_size": batch,
                 "learnt_k": boundless.learnt_k, "seconds": round(time.time() - start),
                 **score_row(model, held_out, layer, boundless)})
    if full:
        start = time.time()
        swap, _ = dc.train_das(model, train_pairs, layer, k, full["steps"], full["lr"], full["batch_size"], seed,
                            progress=False)
        rows.append({"method": "DAS, the settings' training", "seed": seed, "steps": full["steps"],
                     "batch_size": full["batch_size"], "learnt_k": k, "seconds": round(time.time() - start),
                     **score_row(model, held_out, layer, swap)})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", type=int, choices=(5, 7), default=5, help="whose runs to repeat (default 5)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--steps", type=int, help="training steps (default: the chapter's)")
    parser.add_argument("--out", required=True, type=Path, help="CSV to write, one row per seed (and method)")
    args = parser.parse_args(argv)
    knobs = knobs_of(args.chapter, args.steps)
    seeds = [int(s) for s in args.seeds.split(",")]
    model = dc.load_model()
    rows = []
    if args.chapter == 5:
        train_pairs, sets = chapter_5_sets(model)
    else:
        train_pairs, held_out = chapter_7_pairs(model)
    for seed in seeds:
        start = time.time()
        if args.chapter == 5:
            rows.append(chapter_5_row(model, train_pairs, sets, seed, knobs))
        else:
            full = knobs_of(5, args.steps) if seed == 0 else None
            rows.extend(chapter_7_rows(model, train_pairs, held_out, seed, knobs, full))
        print(f"seed {seed}: done ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).round(4)
    for name, value in knobs.items():
        if name not in table:
            table[name] = value
    with dc.atomic_open(args.out, "w") as f:  # a killed run leaves the old file
        table.to_csv(f, index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
