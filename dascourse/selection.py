"""Choosing layer, k, learning rate and batch size on validation entities (`python -m dascourse select`,
and tools/course_grid.py for the course's own settings).

The held-out entities are the ones `train --split-seed S` holds out (split_by_city(known, 0.2, S)); selection
never touches them. The remaining training entities are split once more, the same way:

    fit entities         -> the pairs every configuration trains on
    validation entities  -> validation pairs (base and source both validation entities)

For each configuration c = (layer, k, lr, batch_size) and seed s, R_k is trained on the fit pairs, and
h' = swap(h_base, h_source) at `layer` is scored on the validation pairs (one row per run, grid.result_row):

    cause(c, s)                  IIA of `attribute`, with a 95% interval resampling entities
    <a>(c, s)                    Isolate of each kept attribute a (--keep), and isolate = their mean
    disentangle(c, s)          = (cause + isolate) / 2
    hits_<score>                 the per-pair 0/1 hits, on the pairs of grid.pair_lists (the same for every run)

The choice follows the question asked (the course's chapters ask the same two):

    plain DAS, "is the attribute in a small subspace?"   choose_das: the smallest k whose seed-averaged
        Cause minus the best k's has a paired 95% interval reaching 0, at the layer whose best k has the
        highest Cause
    multi-task DAS (--keep), "can it be moved alone?"    choose_mdas: the highest mean Disentangle

Runs that share (lr, batch_size) train stacked, in one train_das_many call with one run per
(layer, k, seed): one forward pass per step serves them all.
"""
import itertools
import time

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .grid_files import seed_mean_hits
from .metrics import disentangle_interval, entity_interval, paired_difference, scores
from .pairs import isolate_pairs, make_pairs, split_by_city
from .train import train_das_many

TEST_FRAC = 0.2  # the share of entities held out by `train`, as in chapter 5
VAL_FRAC = 0.2   # the share of the training entities kept for validation
FEW_PAIRS, FEW_ENTITIES = 50, 10  # below either, a score's interval is too wide to read much into


def split_three_ways(facts, attribute, split_seed):
    """(fit, validation, held_out) rows of `facts`: held_out as `train --split-seed split_seed` holds it out,
    validation a VAL_FRAC of the rest (its seen and unseen-value entities together, like held_out)."""
    train_rows, test_rows, unseen_rows = split_by_city(facts, TEST_FRAC, split_seed, attribute=attribute)
    fit, val, val_unseen = split_by_city(train_rows, VAL_FRAC, split_seed, attribute=attribute)
    return fit, pd.concat([val, val_unseen], ignore_index=True), pd.concat([test_rows, unseen_rows], ignore_index=True)


def rotation_scores(model, pairs, layer, swap, attribute, keep=(), template=0, n_isolate=256):
    """metrics.scores of `swap` on `pairs` -- Cause, and per attribute a of `keep` Isolate on a seeded
    sample of up to n_isolate pairs whose answers for a differ, and Disentangle -- with 95% entity
    intervals and n_entities_scored[score] (entities in the pairs a score rests on), plus few_pairs: the
    scores resting on fewer than FEW_PAIRS pairs or FEW_ENTITIES entities, whose intervals say more than
    the score does. A kept attribute that no pair's base and source differ in is left out (nothing to
    measure); with none left, Isolate and Disentangle are None. The result keeps scores(rests_on=True)'s
    "scored" and "correct" (metrics.score_differences compares two swaps scored on the same pairs).
    """
    keep = tuple(a for a in keep if len(isolate_pairs(model, pairs, a)))
    with torch.no_grad():
        result = scores(model, pairs, layer, swap, attribute, keep, template, n_isolate, seed=0, rests_on=True)
    scored = result["scored"]
    result["few_pairs"] = [name for name, p in scored.items()
                           if len(p) < FEW_PAIRS or result["n_entities_scored"][name] < FEW_ENTITIES]
    return result


def configurations(layers, ks, lrs, batch_sizes):
    """Every (layer, k, lr, batch_size), as dicts."""
    return [dict(layer=L, k=k, lr=lr, batch_size=b) for L, k, lr, b in itertools.product(layers, ks, lrs, batch_sizes)]


def grid_search(model, fit_pairs, val_pairs, configs, seeds, steps, attribute, keep=(), template=0, n_isolate=256,
                progress=True):
    """Train every configuration of `configs` with every seed on `fit_pairs`, score each on `val_pairs`
    (rotation_scores); one row per (configuration, seed): method ("MDAS" with `keep`, else "DAS"), the
    configuration, seed, steps, grid.result_row's scores and hits (as tools/course_grid.py's rows), few_pairs and
    train_seconds. Returns (rows, pairs): pairs = grid.pair_lists, the validation pairs the hits refer to. Runs
    sharing (lr, batch_size) train stacked."""
    from .grid import pair_lists, result_row  # here: grid.py imports rotation_scores from this module

    groups = {}
    for c in configs:
        groups.setdefault((c["lr"], c["batch_size"]), []).extend({**c, "seed": s} for s in seeds)
    rows, pairs = [], None
    bar = tqdm(total=len(groups) * steps, desc=f"select: {len(configs)} configurations x {len(seeds)} seeds",
               unit="step", disable=not progress)
    for (lr, batch_size), runs in groups.items():
        start = time.time()
        trained = train_das_many(model, fit_pairs, [r["layer"] for r in runs], [(r["k"], r["seed"]) for r in runs],
                                 steps, lr, batch_size, progress=False, keep=tuple(keep), attribute=attribute,
                                 template=template, on_step=lambda step: bar.update(1))
        seconds = (time.time() - start) / len(runs)  # the group's time, shared evenly among its runs
        bar.set_postfix_str(f"scoring {len(runs)} runs on {len(val_pairs)} validation pairs")
        for run, (swap, _) in zip(runs, trained):
            result = rotation_scores(model, val_pairs, run["layer"], swap, attribute, keep, template, n_isolate)
            pairs = pairs or pair_lists(result)
            rows.append({"method": "MDAS" if keep else "DAS", **run, "steps": steps, **result_row(result),
                         "few_pairs": " ".join(result["few_pairs"]), "train_seconds": round(seconds, 1)})
        bar.set_postfix_str("")
    bar.close()
    return pd.DataFrame(rows), pairs


def configuration_means(rows, knobs=("layer", "k", "lr", "batch_size")):
    """Every configuration's mean Cause (and Isolate and Disentangle, when scored) over its seeds, with the
    number of seeds, as a list of dicts in the order of `rows` (for json)."""
    knobs = list(knobs)
    columns = [c for c in ("cause", "isolate", "disentangle") if c in rows.columns]
    means = rows.groupby(knobs, sort=False)[columns].mean().join(rows.groupby(knobs, sort=False).size().rename("n"))
    return [{**dict(zip(knobs, map(_plain, key))), **{f"mean_val_{c}": round(float(r[c]), 4) for c in columns},
             "n_seeds": int(r["n"])} for key, r in means.iterrows()]


def _plain(value):
    """numpy numbers as Python ones, for json."""
    return value.item() if isinstance(value, np.generic) else value


def make_validation_pairs(model, fit, val, attribute, n_pairs, what):
    """(fit_pairs, val_pairs): every pair of fit entities, and a seeded sample of n_pairs pairs of
    validation entities. `what` names the user's table in the error when there are too few."""
    for rows, role in ((fit, "training"), (val, "validation")):
        if len(rows) < 2:
            raise ValueError(f"{what} leaves {len(rows)} {role} entit{'y' if len(rows) == 1 else 'ies'} after "
                             f"holding out a fifth twice: select needs more entities the model knows; add rows.")
    fit_pairs = make_pairs(model, fit, attribute=attribute)
    val_pairs = make_pairs(model, val, n=n_pairs, seed=0, attribute=attribute)
    for pairs, role in ((fit_pairs, "training"), (val_pairs, "validation")):
        if len(pairs) == 0:
            raise ValueError(f"{what}: all {role} entities share one {attribute!r} (first token), so no pair can "
                             f"change it; add entities with other values.")
    return fit_pairs, val_pairs


def choose_das(rows, pairs, method="DAS"):
    """The smallest subspace that carries the attribute (chapters 5-6), from validation rows of
    course_grid (columns method, layer, k, seed, cause, hits_cause) and the pairs the hits refer to
    (pairs["cause"] = [[base, source], ...]):

        at each layer:  k* = argmax_k mean_s Cause(k, s)       (ties: the smaller k)
                        chosen k = the smallest k whose seed-averaged per-pair hits minus k*'s have a paired
                                   95% entity interval (`paired_difference`) reaching 0: no smaller k that
                                   the validation pairs can tell from the best
        layer        =  the one whose chosen k is smallest (the smallest subspace that carries it);
                        ties: the higher mean Cause at the chosen k

    Returns {"layer", "k", "best_k", "mean_val_cause", "mean_val_isolate", "mean_val_disentangle" (None where
    nothing was kept), "minus_best": (diff, lo, hi), "rule", "per_layer": [the same for every layer]}."""
    base, source = (np.array([p[i] for p in pairs["cause"]]) for i in (0, 1))
    per_layer = []
    for layer, at_layer in rows[rows.method == method].groupby("layer", sort=True):
        means = at_layer.groupby("k")[[c for c in ("cause", "isolate", "disentangle") if c in rows]].mean()
        best_k = int(means["cause"].idxmax())  # idxmax keeps the first (smallest) k of a tie
        best = seed_mean_hits(at_layer[at_layer.k == best_k])
        for k in sorted(means.index):
            diff, lo, hi = paired_difference(seed_mean_hits(at_layer[at_layer.k == k]), best, base, source)
            if hi >= 0:
                break
        per_layer.append({"layer": int(layer), "k": int(k), "best_k": best_k,
                          "mean_val_cause": round(float(means.loc[k, "cause"]), 4),
                          "mean_val_isolate": _mean_at(means, k, "isolate"),
                          "mean_val_disentangle": _mean_at(means, k, "disentangle"),
                          "best_mean_val_cause": round(float(means.loc[best_k, "cause"]), 4),
                          "minus_best": [round(v, 4) for v in (diff, lo, hi)]})
    choice = min(per_layer, key=lambda c: (c["k"], -c["mean_val_cause"], c["layer"]))
    return {**choice, "rule": "at each layer, the smallest k whose validation Cause minus the best k's has a "
                              "paired 95% interval reaching 0; the layer where that k is smallest (ties: the "
                              "higher Cause)", "per_layer": per_layer}


def choose_mdas(rows, method="MDAS"):
    """Multi-task DAS's settings (chapter 7, "can the country be moved alone?"): the (layer, k) with the
    highest mean validation Disentangle over seeds. Returns {"layer", "k", "mean_val_cause",
    "mean_val_isolate", "mean_val_disentangle", "on_edge" (k is the grid's smallest or largest), "rule"}."""
    runs = rows[rows.method == method]
    means = runs.groupby(["layer", "k"])[["cause", "isolate", "disentangle"]].mean()
    layer, k = means["disentangle"].idxmax()
    best = means.loc[(layer, k)]
    return {"layer": int(layer), "k": int(k), "mean_val_cause": round(float(best["cause"]), 4),
            "mean_val_isolate": round(float(best["isolate"]), 4),
            "mean_val_disentangle": round(float(best["disentangle"]), 4),
            "on_edge": bool(k in (runs.k.min(), runs.k.max())), "rule": "highest mean validation Disentangle"}


def _mean_at(means, k, column):
    """means.loc[k, column] rounded for json; None when the column was not scored (nothing kept)."""
    return round(float(means.loc[k, column]), 4) if column in means.columns else None


def choose(rows, pairs, keep):
    """`python -m dascourse select`'s choice among its configurations (rows and pairs of `grid_search`):
    choose_das without `keep`, choose_mdas with it, applied at each (lr, batch_size) of the sweep; the
    (lr, batch_size) whose best k has the highest mean Cause (choose_das) or whose choice has the highest
    mean Disentangle (choose_mdas) wins. Returns the choice with "lr" and "batch_size" added."""
    if keep and "disentangle" not in rows.columns:
        raise ValueError("No run has a Disentangle: no validation pair's base and source differ in a kept "
                         "attribute, so Isolate cannot be measured; add entities with other values, or drop --keep.")
    choices = []
    for (lr, batch_size), runs in rows.groupby(["lr", "batch_size"], sort=True):
        choice = choose_mdas(runs) if keep else choose_das(runs, pairs)
        choices.append({**choice, "lr": _plain(lr), "batch_size": _plain(batch_size)})
    score = "mean_val_disentangle" if keep else "best_mean_val_cause"
    chosen = max(choices, key=lambda c: c[score])  # a tie keeps the first: the smaller lr, then batch size
    if len(choices) > 1:
        chosen["rule"] += ("; of the learning rates and batch sizes, the one with the highest "
                           + ("mean validation Disentangle" if keep else "best-k Cause"))
    return chosen


def grid_scores(rows, pairs, by=("method", "layer", "k")):
    """Each group of grid rows (`by`; e.g. one method's seeds at one layer and k) scored on its seed-averaged
    per-pair hits, hit_i = mean_s hits_s,i, on the pairs of `pairs` ({score: [[base, source], ...]}):

        cause       = mean_i hit_i                      95% entity interval (`entity_interval`)
        a           = mean_i hit^a_i                    Isolate of kept attribute a on its own pairs, the same
        isolate     = mean_a mean_i hit^a_i             (a: the kept attributes)
        disentangle = (cause + isolate) / 2             (`disentangle_interval`)

    Isolate's interval resamples the entities once for all its attributes, as Disentangle's does. One row per
    group: the `by` columns, n_seeds, cause(_lo, _hi), cause_min and cause_max over the seeds, and, where
    something was kept, isolate(_lo, _hi), disentangle(_lo, _hi) and <a>(_lo, _hi) for each kept a."""
    kept = [name for name in pairs if name != "cause" and f"hits_{name}" in rows.columns]
    sets = {name: np.array(pairs[name]) for name in ["cause", *kept]}
    table = []
    for key, runs in rows.groupby(list(by), sort=True):
        hit = {name: (seed_mean_hits(runs, name), p[:, 0], p[:, 1]) for name, p in sets.items()}
        row = {**dict(zip(by, map(_plain, key))), "n_seeds": len(runs), "cause": float(hit["cause"][0].mean()),
               **dict(zip(("cause_lo", "cause_hi"), entity_interval(*hit["cause"]))),
               "cause_min": float(runs.cause.min()), "cause_max": float(runs.cause.max())}
        if kept:
            isolate = {name: hit[name] for name in kept}
            first = hit[kept[0]]  # Disentangle* with Cause* = 0 on Isolate's own pairs is Isolate* / 2
            half = disentangle_interval((np.zeros(len(first[0])), first[1], first[2]), isolate)
            row["isolate"] = float(np.mean([values.mean() for values, _, _ in isolate.values()]))
            row["isolate_lo"], row["isolate_hi"] = 2 * half[0], 2 * half[1]
            row["disentangle"] = (row["cause"] + row["isolate"]) / 2
            row["disentangle_lo"], row["disentangle_hi"] = disentangle_interval(hit["cause"], isolate)
            for name, (values, base, source) in isolate.items():
                row[name] = float(values.mean())
                row[f"{name}_lo"], row[f"{name}_hi"] = entity_interval(values, base, source)
        table.append(row)
    return pd.DataFrame(table)
