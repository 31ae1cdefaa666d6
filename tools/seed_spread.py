"""How much chapter 7 moves with the seed: its three training runs repeated for several seeds (`make seeds`).

For each seed, as chapter 7's cells do (knobs CHAPTER_7: fewer steps than the settings', for the chapter's
run time; the split of the cities stays the chapter's, seed 0):

    DAS            train_das at dc.course_settings()'s layer, k and lr (keep=())
    MDAS           train_das at dc.multitask_settings()'s layer, k and lr, keeping continent and language
    Boundless DAS (published)   train_boundless at plain DAS's layer (Wu et al.'s loss and defaults)

each scored on the chapter's held-out pairs with RAVEL's Cause, Isolate and Disentangle and their 95%
entity intervals (dc.scores, rests_on=True), and MDAS and Boundless also by their paired difference to the
same seed's DAS on the same pairs (dc.score_differences): columns diff_<score>, diff_<score>_lo, _hi.
Boundless rows carry the boundary's start and end (width_start, width_end), whether the end is where the
steps ran out (limited, from step_limit()) and learnt_k (#{i : m_i > 0.5}), which the chapter reports only
where limited is False. Seed 0 is the chapter's own run, so its rows repeat the chapter's tables to the digit
in the same numeric mode. The seed sets the rotation's random start and the order of the batches.

Chapter 7 itself reads its seed spread from the committed grid (dc.load_grid("selection"): the settings' full
training, three seeds for DAS and two for MDAS); this script measures the spread of the chapter's shorter
runs, and is not committed output (about two minutes per seed on 2 cores).

    make seeds                                   # dascourse/data/multitask_seeds.csv (numeric mode)
    python tools/seed_spread.py --seeds 0 --steps 2 --out /tmp/s.csv   # a quick smoke run
"""
import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

import dascourse as dc

CHAPTER_7 = dict(steps=30, batch_size=16)  # the chapter's knobs cell
KEEP = ("continent", "language")
METHODS = ("DAS", "MDAS", "Boundless DAS (published)")


def chapter_7_pairs(model):
    """Chapter 7's (train_pairs, held_out): every city with a known country, its continent and language
    blanked where the model gets them wrong; held-out pairs of test cities known for all three."""
    train_cities, test_cities, _ = dc.course_split(model, keep=KEEP)
    return dc.make_pairs(model, train_cities), dc.make_pairs(model, test_cities.dropna())


def train_one(model, train_pairs, method, seed, steps, batch_size):
    """(swap, {layer, k, lr}) of one of METHODS trained with `seed`, as the chapter's cells train it (k None:
    Boundless learns its size; lr: the rotation's)."""
    das, mdas = dc.course_settings(), dc.multitask_settings()
    if method == "Boundless DAS (published)":
        swap, _ = dc.train_boundless(model, train_pairs, das["layer"], steps=steps, batch_size=batch_size, seed=seed,
                                     progress=False)
        return swap, {"layer": das["layer"], "k": None, "lr": 1e-3}  # train_boundless's default lr (the tutorial's)
    s, keep = (das, ()) if method == "DAS" else (mdas, KEEP)
    swap, _ = dc.train_das(model, train_pairs, s["layer"], s["k"], steps, s["lr"], batch_size, seed, progress=False,
                           keep=keep)
    return swap, {name: s[name] for name in ("layer", "k", "lr")}


def difference_columns(result, das_result):
    """diff_<score>, diff_<score>_lo, diff_<score>_hi: `result` minus DAS's on the same pairs (paired)."""
    diff = dc.score_differences(result, das_result)
    named = {"cause": diff["cause"], **diff["isolate"], "disentangle": diff["disentangle"]}
    return {f"diff_{name}{end}": v for name, values in named.items() for end, v in zip(("", "_lo", "_hi"), values)}


def seed_rows(model, train_pairs, held_out, seed, steps, batch_size):
    """One row per method of METHODS for `seed`: its settings, scores with intervals, the difference to DAS."""
    rows, das_result = [], None
    for method in METHODS:
        start = time.time()
        swap, knobs = train_one(model, train_pairs, method, seed, steps, batch_size)
        seconds = round(time.time() - start)
        with torch.no_grad():
            result = dc.scores(model, held_out, knobs["layer"], swap, keep=KEEP, n_isolate=64, rests_on=True)
        row = {"method": method, "seed": seed, **knobs, "steps": steps, "batch_size": batch_size,
               **dc.score_row(result), "disentangle_lo": result["disentangle_ci"][0],
               "disentangle_hi": result["disentangle_ci"][1], "train_seconds": seconds}
        if method == "DAS":
            das_result = result
        else:
            row.update(difference_columns(result, das_result))
        if isinstance(swap, dc.PublishedBoundless):
            limit = swap.step_limit()
            row.update(width_start=limit["start"], width_end=limit["end"], limited=limit["limited"],
                       learnt_k=swap.learnt_k)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", type=int, choices=(7,), default=7, help="whose runs to repeat (only 7)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--steps", type=int, default=CHAPTER_7["steps"], help="training steps (default: the chapter's)")
    parser.add_argument("--out", required=True, type=Path, help="CSV to write, one row per method and seed")
    args = parser.parse_args(argv)
    model = dc.load_model()
    train_pairs, held_out = chapter_7_pairs(model)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        start = time.time()
        rows.extend(seed_rows(model, train_pairs, held_out, seed, args.steps, CHAPTER_7["batch_size"]))
        print(f"seed {seed}: done ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).round(4).astype({"k": "Int64", "learnt_k": "Int64"})  # blank where not set
    with dc.atomic_open(args.out, "w") as f:  # a killed run leaves the old file
        table.to_csv(f, index=False)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
