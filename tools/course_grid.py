"""The course's settings and chapter 6's k curve, from one grid of training runs (`make selection`).

Cities: dc.course_facts(model, KEEP) (country known; continent and language blanked where the model gets
them wrong), split as `select` splits them (selection.split_three_ways, split seed 0):

    fit        -> the pairs every run trains on
    validation -> VAL_PAIRS pairs: every choice is made on them
    held_out   -> chapter 5's held-out cities (course_split's test and unseen): never used to choose;
                  the k curve scores them once the choice is made

Runs (100 steps of 16 pairs, lr 3e-3, seeds 0-2; one train_das_many stack per layer and loss):
    DAS    (country alone)                  at every layer of LAYERS and k of DAS_KS
    MDAS   (country, keeping continent and language: select --keep) at every layer and k of MDAS_KS,
           seeds MDAS_SEEDS at MDAS_LAYERS (an MDAS run costs about three DAS runs)
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
runs of that layer (MDAS trained there too if MDAS_LAYERS lacks it), a random subspace per k and seed, PCA of h_source - h_base and the best
k neurons by attribution per k, full patching (k = d), and RAVEL's differentiable binary masks (L1 weights
dascourse.grid.MASK_SPARSITIES, seeds MASK_SEEDS; a mask's k is the size of its m > 0.5 set, learnt, not set).

Writes (atomically): dascourse/data/course_selection.csv (validation rows), course_selection.json (the
choices, the pairs the hits refer to, run time), evaluation_ksweep.csv (held-out rows) and
evaluation_pairs.json. Trained runs are cached in _build/course_grid/ (a killed run resumes there).

    make selection                                    # the committed files (numeric mode; ~2.5 h on 2 cores)
    python tools/course_grid.py --smoke --out-dir /tmp/grid   # 2 steps, 1 seed, 2 layers: a quick check
"""
import argparse
import json
import time
from pathlib import Path

import pandas as pd

import dascourse as dc
from dascourse.grid import Grid, curve_rows, row_key, validation_rows
from dascourse.selection import choose_das, choose_mdas, split_three_ways

ROOT = Path(__file__).resolve().parents[1]
KEEP = ("continent", "language")
# Layer 20 was added when both choices sat at layer 16, then the grid's deepest layer (it moved neither choice).
LAYERS, DAS_KS, SEEDS = (8, 12, 16, 20), (1, 4, 16, 64, 256), (0, 1, 2)
# An MDAS run costs about 3 DAS runs (three loss terms; measured 1.6 s per run-step at layer 8 against 0.5):
# MDAS is chosen from two seeds at every layer. The stacks are listed in the order the grid grew, so that a
# fresh run trains the same stacks as the committed one (a stack's runs equal separate runs only up to float
# rounding): k 4-64 first, then k = 256 when the first choice (k = 64) sat on the grid's edge.
MDAS_STACKS = (((4, 16, 64), (0, 1)), ((256,), (0, 1)))
# the k curve's MDAS (at the DAS layer) gets a third seed, and its masks three seeds
CURVE_MDAS_STACKS = MDAS_STACKS + (((4, 16, 64, 256), (2,)),)
MDAS_SEEDS, MDAS_LAYERS, MASK_SEEDS = (0, 1), LAYERS, SEEDS
MDAS_KS = tuple(sorted({k for ks, _ in MDAS_STACKS for k in ks}))
KNOBS = dict(lr=3e-3, batch_size=16, steps=100)
VAL_PAIRS, HELD_OUT_PAIRS = 256, 256  # Cause's pairs
ISOLATE_PAIRS = 128  # per kept attribute: Isolate's seeded sample (half of Cause's, to keep the grid near an hour)


def write_csv(table, path):
    with dc.atomic_open(path, "w") as f:
        table.to_csv(f, index=False)


def write_json(data, path):
    with dc.atomic_open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=ROOT / "dascourse" / "data", type=Path)
    parser.add_argument("--cache", default=ROOT / "_build" / "course_grid", type=Path)
    parser.add_argument("--smoke", action="store_true", help="2 steps, seed 0, layers 8 and 12, few k: a check")
    parser.add_argument("--reuse-selection", action="store_true",
                        help="read the validation rows from --out-dir's course_selection.csv instead of scoring them "
                             "again (after a change of the choice rules: the choices and the k curve are redone)")
    parser.add_argument("--reuse-rows", action="store_true",
                        help="read back every row --out-dir's CSVs already hold and score only the new ones (after "
                             "the grid grew; scoring is deterministic, so the files equal a full run's)")
    args = parser.parse_args(argv)
    layers, das_ks, mdas_ks, seeds, mdas_seeds, knobs = LAYERS, DAS_KS, MDAS_KS, SEEDS, MDAS_SEEDS, dict(KNOBS)
    mdas_layers, mask_seeds, mdas_stacks, curve_stacks = MDAS_LAYERS, MASK_SEEDS, MDAS_STACKS, CURVE_MDAS_STACKS
    n_val, n_held_out = VAL_PAIRS, HELD_OUT_PAIRS
    if args.smoke:
        layers, das_ks, mdas_ks, seeds, mdas_seeds, knobs = (8, 12), (1, 4, 64), (4, 16), (0,), (0,), \
            {**KNOBS, "steps": 2}
        mdas_layers = mask_seeds = mdas_stacks = curve_stacks = None
        n_val = n_held_out = 32
    start = time.time()
    model = dc.load_model()
    facts = dc.course_facts(model, KEEP)
    fit, val, held_out_cities = split_three_ways(facts, "country", 0)
    train_cities, test_cities, unseen_cities = dc.course_split(model, KEEP)
    assert set(held_out_cities.city) == set(test_cities.city) | set(unseen_cities.city), "splits disagree"
    fit_pairs = dc.make_pairs(model, fit)
    val_pairs = dc.make_pairs(model, val, n=n_val, seed=0)
    held_out = dc.make_pairs(model, test_cities, n=n_held_out, seed=0)
    grid = Grid(model, fit_pairs, knobs, args.cache, seeds, keep=KEEP, n_isolate=ISOLATE_PAIRS,
                mdas_seeds=mdas_seeds)

    previous = {name: json.loads((args.out_dir / name).read_text(encoding="utf-8"))
                for name in ("course_selection.json", "evaluation_pairs.json")
                if (args.reuse_selection or args.reuse_rows) and (args.out_dir / name).exists()}

    def known_rows(name):  # {row_key: row} of a committed table, for --reuse-rows (each table its own pairs)
        if not args.reuse_rows:
            return {}
        return {row_key(row): row for row in dc.read_rows(args.out_dir / name).to_dict("records")}

    def same_pairs(lists, name):  # rows read back and rows scored now must refer to the same pairs
        old = previous.get(name, {}).get("pairs")
        if lists is not None and old is not None and lists != old:
            raise SystemExit(f"{name}'s pairs differ from this run's: drop --reuse-rows")
        return lists if lists is not None else old

    read_back = 0  # rows read back instead of scored (--reuse-rows)
    if args.reuse_selection:  # the same rows a full run scores (deterministic), read back with their hits
        rows = dc.read_rows(args.out_dir / "course_selection.csv")
        val_pair_lists = previous["course_selection.json"]["pairs"]
        select_seconds = previous["course_selection.json"]["seconds"]
    else:
        val_known = known_rows("course_selection.csv")
        rows, val_pair_lists = validation_rows(grid, val_pairs, layers, das_ks, mdas_ks, mdas_layers, mdas_stacks,
                                               val_known)
        read_back += sum(row_key(row) in val_known for row in rows)
        rows, val_pair_lists = pd.DataFrame(rows), same_pairs(val_pair_lists, "course_selection.json")
        select_seconds = round(time.time() - start, 1)
    das, mdas = choose_das(rows, val_pair_lists), choose_mdas(rows)
    grid.log(f"DAS: layer {das['layer']}, k {das['k']}; MDAS: layer {mdas['layer']}, k {mdas['k']} ({select_seconds} s)")
    curve_known = known_rows("evaluation_ksweep.csv")
    curve, held_out_lists = curve_rows(grid, held_out, das["layer"], das_ks, mdas_ks, mask_seeds=mask_seeds,
                                       mdas_stacks=curve_stacks, known=curve_known)
    read_back += sum(row_key(row) in curve_known for row in curve)
    curve, held_out_lists = pd.DataFrame(curve), same_pairs(held_out_lists, "evaluation_pairs.json")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    common = {**knobs, "seeds": list(seeds), "mdas_seeds": list(mdas_seeds),
              "curve_mdas_stacks": [[list(ks), list(s)] for ks, s in curve_stacks or [(mdas_ks, mdas_seeds)]],
              "mdas_layers": list(mdas_layers or layers), "mask_seeds": list(mask_seeds or seeds), "split_seed": 0,
              "rows_read_back": read_back}
    write_csv(rows, args.out_dir / "course_selection.csv")
    write_json({"das": {**das, **knobs}, "mdas": {**mdas, **knobs}, **common, "layers": list(layers),
                "das_ks": list(das_ks), "mdas_ks": list(mdas_ks), "keep": list(KEEP), "n_fit_entities": len(fit),
                "n_val_entities": len(val), "n_held_out_entities": len(held_out_cities),
                "n_fit_pairs": len(fit_pairs), "n_val_pairs": len(val_pairs), "seconds": select_seconds,
                "pairs": val_pair_lists}, args.out_dir / "course_selection.json")
    write_csv(curve, args.out_dir / "evaluation_ksweep.csv")
    write_json({"layer": das["layer"], **common, "n_held_out_cities": len(test_cities),
                "seconds": round(time.time() - start, 1), "pairs": held_out_lists},
               args.out_dir / "evaluation_pairs.json")
    grid.log(f"done: {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
