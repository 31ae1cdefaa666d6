"""Chapter 6's entanglement table, as a committed command output (`make evaluation`, a few minutes on 2 cores).

With the course's settings (dc.course_settings(): layer, k, lr, batch size, steps) and chapter 5's split (seed 0):
DAS trained three times, for the country (exactly chapter 5's and chapter 6's run: dc.train_das on pairs of all
training cities, seed 0), for the continent and for the language (same settings, pairs of training cities whose
values of that attribute differ); each scored by Cause on all three attributes, on 64 held-out pairs per
attribute whose values differ (cities the model knows all three attributes of), with entity intervals.
   -> dascourse/data/entanglement.csv, one row per attribute trained for, and
   -> dascourse/data/das_country.pt: the country rotation (chapter 5's run), which chapter 6 reads instead of
      training it again (save_intervention: R_k bit for bit, with the settings and split it was trained with).

Chapter 6's k curve (DAS, MDAS and the controls for k from 1 to d) is tools/course_grid.py's
(`make selection`). Rerun after `make selection` changes the course's settings, or after changing the
numeric mode.

    make evaluation                                                  # numeric mode, the committed CSV
    python tools/evaluation_grid.py --steps 2 --out-dir /tmp/grid    # a quick smoke run
"""
import argparse
import sys
import time
from pathlib import Path

import dascourse as dc

ATTRIBUTES = ["country", "continent", "language"]


def main(argv=None):
    settings = dc.course_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=settings["steps"], help="training steps (default: the course's)")
    parser.add_argument("--out-dir", default=Path("dascourse/data"), type=Path, help="where the CSV goes")
    args = parser.parse_args(argv)
    layer, k, seed = settings["layer"], settings["k"], 0
    budget = dict(steps=args.steps, lr=settings["lr"], batch_size=settings["batch_size"], seed=seed, progress=False)
    start = time.time()
    model = dc.load_model()
    train_cities, test_cities, _ = dc.course_split(model)  # chapter 5's split
    all_three = dc.known_facts(model, ATTRIBUTES)
    test_facts = all_three[all_three.city.isin(test_cities.city)]

    swaps = {"country": dc.train_das(model, dc.make_pairs(model, train_cities), layer, k, **budget)[0]}
    for a in ATTRIBUTES[1:]:
        facts_a = dc.known_facts(model, a, table=train_cities)
        swaps[a] = dc.train_das(model, dc.make_pairs(model, facts_a, attribute=a), layer, k, attribute=a, **budget)[0]
    print(f"trained for {', '.join(swaps)}: {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    dc.save_intervention(args.out_dir / "das_country.pt", swaps["country"], model=model.name, layer=layer,
                         attribute="country", seed=seed, split_seed=0, lr=settings["lr"],
                         batch_size=settings["batch_size"], steps=args.steps,
                         trained_on="chapter 5's training cities (dc.split_by_city(..., test_frac=0.2, seed=0))")

    pairs_by_attribute = {a: dc.make_pairs(model, test_facts, n=64, seed=0, attribute=a) for a in ATTRIBUTES}
    table = dc.cause_by_attribute(model, pairs_by_attribute, layer, swaps)
    entanglement = table.rename_axis("trained for").reset_index().astype({c: float for c in table.columns}).round(4)
    entanglement.insert(1, "seed", seed)
    for key, value in {"layer": layer, "k": k, "lr": settings["lr"], "batch_size": settings["batch_size"],
                       "steps": args.steps, "pairs_per_attribute": min(map(len, pairs_by_attribute.values())),
                       "seconds": round(time.time() - start)}.items():
        entanglement[key] = value
    with dc.atomic_open(args.out_dir / "entanglement.csv", "w") as f:  # a killed run leaves the old file
        entanglement.to_csv(f, index=False)
    print(entanglement.to_string(index=False))
    print(f"done: {time.time() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
