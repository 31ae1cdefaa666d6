"""Choosing layer, k, learning rate and batch size on validation entities (`python -m dascourse select`).

The held-out entities are the ones `train --split-seed S` holds out (split_by_city(known, 0.2, S)); selection
never touches them. The remaining training entities are split once more, the same way:

    fit entities         -> the pairs every configuration trains on
    validation entities  -> validation pairs (base and source both validation entities)

For each configuration c = (layer, k, lr, batch_size) and seed s, R_k is trained on the fit pairs, and
h' = swap(h_base, h_source) at `layer` is scored on the validation pairs:

    val_cause(c, s)                  IIA of `attribute`, with a 95% interval resampling entities
    val_isolate(c, s)[a]             for each kept attribute a (--keep), and
    val_disentangle(c, s)          = (val_cause + mean_a val_isolate[a]) / 2
    best = argmax_c mean_s val_cause(c, s)          (mean_s val_disentangle(c, s) with --keep)

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
from .metrics import paired_difference, score_row, scores
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
    (rotation_scores); one row per (configuration, seed). Runs sharing (lr, batch_size) train stacked."""
    groups = {}
    for c in configs:
        groups.setdefault((c["lr"], c["batch_size"]), []).extend({**c, "seed": s} for s in seeds)
    rows = []
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
            rows.append({**run, "steps": steps, **_flat(rotation_scores(model, val_pairs, run["layer"], swap,
                         attribute, keep, template, n_isolate)), "train_seconds": round(seconds, 1)})
        bar.set_postfix_str("")
    bar.close()
    return pd.DataFrame(rows)


def _validation_name(score):
    """The CSV column of a score: val_cause, val_isolate, val_disentangle, val_isolate_<a> for attribute a."""
    return f"val_{score}" if score in ("cause", "isolate", "disentangle") else f"val_isolate_{score}"


def _flat(result):
    """rotation_scores as CSV columns: val_cause, val_cause_lo, val_cause_hi, val_isolate_<a>(_lo, _hi),
    val_isolate (their mean), val_disentangle, n_val_pairs, n_val_entities, few_pairs (the scores resting
    on fewer than FEW_PAIRS pairs or FEW_ENTITIES entities, e.g. "cause continent")."""
    row = score_row(result, _validation_name)
    return {**{key: round(v, 4) for key, v in row.items()}, "n_val_pairs": result["n_pairs"],
            "n_val_entities": result["n_entities_scored"]["cause"], "few_pairs": " ".join(result["few_pairs"])}


def best_configuration(rows, by="val_cause"):
    """(best, means): the configuration with the highest mean `by` over seeds, and every configuration's
    mean (with the number of seeds) as a list of dicts, best first."""
    knobs = ["layer", "k", "lr", "batch_size"]
    if by not in rows.columns:
        raise ValueError(f"No run has a {by}: no validation pair's base and source differ in a kept attribute, "
                         f"so Isolate cannot be measured; add entities with other values, or drop --keep.")
    means = rows.groupby(knobs, sort=False)[by].agg(["mean", "count"]).reset_index()
    means = means.sort_values("mean", ascending=False, kind="stable")
    table = [{**{key: _plain(r[key]) for key in knobs}, f"mean_{by}": round(float(r["mean"]), 4),
              "n_seeds": int(r["count"])} for r in means.to_dict("records")]
    return table[0], table


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
        layer        =  the one whose k* has the highest mean Cause

    Returns {"layer", "k", "best_k", "mean_val_cause", "mean_val_isolate", "mean_val_disentangle",
    "minus_best": (diff, lo, hi), "rule", "per_layer": [the same for every layer]}."""
    base, source = (np.array([p[i] for p in pairs["cause"]]) for i in (0, 1))
    per_layer = []
    for layer, at_layer in rows[rows.method == method].groupby("layer", sort=True):
        means = at_layer.groupby("k")[["cause", "isolate", "disentangle"]].mean()
        best_k = int(means["cause"].idxmax())  # idxmax keeps the first (smallest) k of a tie
        best = seed_mean_hits(at_layer[at_layer.k == best_k])
        for k in sorted(means.index):
            diff, lo, hi = paired_difference(seed_mean_hits(at_layer[at_layer.k == k]), best, base, source)
            if hi >= 0:
                break
        per_layer.append({"layer": int(layer), "k": int(k), "best_k": best_k,
                          "mean_val_cause": round(float(means.loc[k, "cause"]), 4),
                          "mean_val_isolate": round(float(means.loc[k, "isolate"]), 4),
                          "mean_val_disentangle": round(float(means.loc[k, "disentangle"]), 4),
                          "best_mean_val_cause": round(float(means.loc[best_k, "cause"]), 4),
                          "minus_best": [round(v, 4) for v in (diff, lo, hi)]})
    choice = max(per_layer, key=lambda c: (c["best_mean_val_cause"], -c["layer"]))
    return {**choice, "rule": "smallest k whose validation Cause minus the best k's has a paired 95% interval "
                              "reaching 0, at the layer with the highest best-k Cause", "per_layer": per_layer}


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
