"""How much chapter 5's numbers move with the seed: its DAS run repeated for several seeds.

For each seed, `train_das` with the chapter's knobs (layer 12, k = 256, 100 steps, lr 3e-3, 32 pairs per
step) on the pairs of the chapter's training cities, then IIA on the chapter's three evaluation sets (128
training pairs, 128 held-out pairs, 64 unseen-country pairs). Seed 0 is the chapter's own run, so its row
repeats the chapter's table to the digit when run in the same numeric mode. The seed sets R_k's random start
and the order of the batches; the split of the cities stays the chapter's (seed 0).

    make seeds                                   # writes dascourse/data/training_seeds.csv (numeric mode)
    python tools/seed_spread.py --seeds 0 --steps 2 --out /tmp/s.csv   # a quick smoke run
"""
import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

import dascourse as dc
from dascourse.metrics import iia
from dascourse.pairs import answer_ids, make_pairs, patch_pairs, split_by_city
from dascourse.train import train_das

KNOBS = dict(layer=12, k=256, steps=100, lr=3e-3, batch_size=32)


def evaluation_sets(model):
    """The chapter's cities and pairs: (train_pairs, {split name: pairs})."""
    facts = dc.known_facts(model, "country")
    train_cities, test_cities, unseen_cities = split_by_city(facts, test_frac=0.2, seed=0)
    train_pairs = make_pairs(model, train_cities)
    return train_pairs, {
        "train": train_pairs.sample(n=128, random_state=0),
        "held_out": make_pairs(model, test_cities, n=128, seed=0),
        "unseen_country": make_pairs(model, test_cities, unseen_cities, n=64, seed=0),
    }


def seed_row(model, train_pairs, sets, seed, knobs):
    """Train one rotation with `seed` and score it: a dict of IIA per evaluation set and the final loss."""
    layer = knobs["layer"]
    rotation, losses = train_das(model, train_pairs, layer, knobs["k"], knobs["steps"], knobs["lr"],
                                     knobs["batch_size"], seed, progress=False)
    row = {"seed": seed, "loss_last_10": sum(losses[-10:]) / len(losses[-10:])}
    with torch.no_grad():
        for name, pairs in sets.items():
            logits = patch_pairs(model, pairs, layer, rotation)
            row[f"iia_{name}"] = iia(logits, answer_ids(model, pairs["source_country"]))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--steps", type=int, default=KNOBS["steps"], help="training steps (default: the chapter's 100)")
    parser.add_argument("--out", required=True, type=Path, help="CSV to write, one row per seed")
    args = parser.parse_args(argv)
    knobs = {**KNOBS, "steps": args.steps}
    model = dc.load_model()
    train_pairs, sets = evaluation_sets(model)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        start = time.time()
        rows.append(seed_row(model, train_pairs, sets, seed, knobs))
        print(f"seed {seed}: {rows[-1]} ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).round(4)
    for name, value in knobs.items():
        table[name] = value
    tmp = args.out.with_suffix(".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(args.out)  # atomic: a killed run leaves the old file
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
