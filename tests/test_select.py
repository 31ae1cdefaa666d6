"""dascourse.selection: the validation split, the two rules (smallest k within a paired interval of the best;
highest Disentangle) on synthetic rows, stacked training per (lr, batch_size), scores with intervals."""
import numpy as np
import pandas as pd
import pytest

import dascourse as dc
from dascourse import grid as grid_module
from dascourse import selection as sel
from dascourse.interventions import FullPatch
from dascourse.pairs import make_pairs, split_by_city


def test_held_out_entities_are_trains_and_never_validated_on():
    facts = dc.load_cities()
    fit, val, held_out = sel.split_three_ways(facts, "country", split_seed=3)
    train, test, unseen = split_by_city(facts, 0.2, 3)  # what `train --seed 3` holds out
    assert set(held_out.city) == set(test.city) | set(unseen.city)
    assert set(fit.city) | set(val.city) == set(train.city)
    assert not set(fit.city) & set(val.city)
    assert len(val) == round(0.2 * len(train))


# ---- the two rules, on synthetic grid rows (no model) --------------------------------------------------------

ENTITIES = [f"city{i}" for i in range(30)]
PAIRS = [[ENTITIES[i % 30], ENTITIES[(7 * i + 3) % 30]] for i in range(240)]  # 240 pairs over 30 shared cities


def run_rows(method, layer, k, rate, seeds=(0, 1, 2), shift=0, lr=3e-3, isolate=None):
    """Grid rows of one (method, layer, k): each seed hits Cause on the pairs i with (i + shift) mod 100 < 100 rate
    (the same pairs for every seed; about `rate` of them), and Isolate on `isolate` of 100 pairs when given."""
    hits = [int((i + shift) % 100 < 100 * rate) for i in range(len(PAIRS))]
    row = dict(method=method, layer=layer, k=k, lr=lr, batch_size=16, cause=float(np.mean(hits)),
               hits_cause="".join(map(str, hits)))
    if isolate is not None:
        row.update(continent=isolate, isolate=isolate, disentangle=(row["cause"] + isolate) / 2,
                   hits_continent="".join(str(int(i < 100 * isolate)) for i in range(100)))
    return [{**row, "seed": s} for s in seeds]


def grid(*runs):
    return pd.DataFrame([row for rows in runs for row in rows])


def test_choose_das_takes_the_smallest_k_the_pairs_cannot_tell_from_the_best():
    rows = grid(run_rows("DAS", 3, 1, 0.10), run_rows("DAS", 3, 4, 0.69), run_rows("DAS", 3, 16, 0.70),
                run_rows("DAS", 3, 64, 0.71))  # 4, 16 and 64 differ on a few pairs only
    choice = sel.choose_das(rows, {"cause": PAIRS})
    assert (choice["layer"], choice["k"], choice["best_k"]) == (3, 4, 64)
    diff, lo, hi = choice["minus_best"]
    assert lo <= diff < 0 <= hi  # within the paired interval of the best: k = 4 carries what k = 64 carries
    assert choice["mean_val_isolate"] is None  # nothing kept, nothing to show
    k1 = sel.paired_difference(np.array(list(rows.hits_cause[rows.k == 1].iloc[0]), dtype=int),
                               np.array(list(rows.hits_cause[rows.k == 64].iloc[0]), dtype=int),
                               *np.array(PAIRS).T)
    assert k1[2] < 0  # k = 1 is clearly below the best: it is not the choice


def test_choose_das_keeps_the_best_k_when_every_smaller_k_is_clearly_below():
    rows = grid(run_rows("DAS", 3, 1, 0.05), run_rows("DAS", 3, 4, 0.20), run_rows("DAS", 3, 16, 0.80))
    choice = sel.choose_das(rows, {"cause": PAIRS})
    assert (choice["k"], choice["best_k"], choice["minus_best"]) == (16, 16, [0.0, 0.0, 0.0])


def test_choose_das_takes_the_layer_with_the_smallest_sufficient_k_and_ties_go_to_the_smaller_k_and_layer():
    rows = grid(run_rows("DAS", 3, 4, 0.5), run_rows("DAS", 3, 16, 0.5),        # a tie: k* = 4
                run_rows("DAS", 5, 4, 0.2), run_rows("DAS", 5, 16, 0.9),        # layer 5's k* = 16 has the best Cause
                run_rows("MDAS", 5, 4, 1.0))                                   # another method: ignored
    choice = sel.choose_das(rows, {"cause": PAIRS})
    assert [(c["layer"], c["best_k"], c["k"]) for c in choice["per_layer"]] == [(3, 4, 4), (5, 16, 16)]
    assert (choice["layer"], choice["k"]) == (3, 4)  # the smallest subspace that carries it, not the best Cause
    same_k = sel.choose_das(grid(run_rows("DAS", 3, 4, 0.4), run_rows("DAS", 5, 4, 0.6)), {"cause": PAIRS})
    assert same_k["layer"] == 5  # equal k: the higher Cause
    tied = sel.choose_das(grid(run_rows("DAS", 3, 4, 0.5), run_rows("DAS", 5, 4, 0.5)), {"cause": PAIRS})
    assert tied["layer"] == 3


def test_choose_mdas_takes_the_highest_mean_disentangle_and_says_when_it_is_on_the_edge():
    rows = grid(run_rows("MDAS", 3, 4, 0.6, isolate=0.5), run_rows("MDAS", 3, 16, 0.7, isolate=0.7),
                run_rows("MDAS", 3, 64, 0.9, isolate=0.2), run_rows("DAS", 3, 16, 1.0, isolate=1.0))
    choice = sel.choose_mdas(rows)
    assert (choice["layer"], choice["k"], choice["on_edge"]) == (3, 16, False)
    chosen = rows[(rows.method == "MDAS") & (rows.k == 16)]
    assert choice["mean_val_disentangle"] == pytest.approx(chosen.disentangle.mean(), abs=1e-4)
    edge = sel.choose_mdas(grid(run_rows("MDAS", 3, 4, 0.9, isolate=0.9), run_rows("MDAS", 3, 16, 0.7, isolate=0.7)))
    assert (edge["k"], edge["on_edge"]) == (4, True)
    tie = sel.choose_mdas(grid(run_rows("MDAS", 3, 16, 0.5, isolate=0.5), run_rows("MDAS", 3, 4, 0.5, isolate=0.5)))
    assert tie["k"] == 4  # a tie keeps the smaller k


def test_select_chooses_per_learning_rate_then_the_best():
    rows = grid(run_rows("DAS", 3, 4, 0.69, lr=1e-2), run_rows("DAS", 3, 16, 0.70, lr=1e-2),
                run_rows("DAS", 3, 4, 0.10, lr=3e-3), run_rows("DAS", 3, 16, 0.90, lr=3e-3))
    choice = sel.choose(rows, {"cause": PAIRS}, keep=[])
    assert (choice["lr"], choice["k"], choice["best_k"]) == (3e-3, 16, 16)
    assert "learning rates" in choice["rule"]
    with pytest.raises(ValueError, match="drop --keep"):
        sel.choose(rows, {"cause": PAIRS}, keep=["continent"])  # nothing scored Isolate


def test_grid_scores_average_the_seeds_hits_with_entity_intervals():
    rows = grid(run_rows("MDAS", 3, 4, 0.5, seeds=(0,), isolate=0.6), run_rows("MDAS", 3, 4, 0.7, seeds=(1,),
                shift=30, isolate=0.6))
    pairs = {"cause": PAIRS, "continent": PAIRS[:100]}
    (row,) = sel.grid_scores(rows, pairs).to_dict("records")
    assert row["n_seeds"] == 2 and row["cause"] == pytest.approx(rows.cause.mean())
    assert (row["cause_min"], row["cause_max"]) == (rows.cause.min(), rows.cause.max())
    hit = (np.array(list(rows.hits_cause[0]), dtype=int) + np.array(list(rows.hits_cause[1]), dtype=int)) / 2
    assert (row["cause_lo"], row["cause_hi"]) == dc.entity_interval(hit, *np.array(PAIRS).T)
    assert row["isolate"] == pytest.approx(0.6) and row["disentangle"] == pytest.approx((row["cause"] + 0.6) / 2)
    # one kept attribute: Isolate's interval is that attribute's entity interval
    iso = dc.entity_interval(np.array(list(rows.hits_continent[0]), dtype=int), *np.array(PAIRS[:100]).T)
    assert (row["isolate_lo"], row["isolate_hi"]) == pytest.approx(iso)
    assert row["disentangle_lo"] <= row["disentangle"] <= row["disentangle_hi"]
    assert (row["continent"], row["continent_lo"], row["continent_hi"]) == pytest.approx((0.6, *iso))  # per attribute


def test_result_row_keeps_the_hits_of_the_pairs_it_names():
    result = {"cause": 0.5, "cause_ci": (0.2, 0.8), "isolate": {"continent": 1.0, "mean": 1.0},
              "isolate_ci": {"continent": (1.0, 1.0)}, "disentangle": 0.75, "n_entities_scored": {"cause": 3},
              "correct": {"cause": np.array([True, False]), "continent": np.array([True])},
              "scored": {"cause": pd.DataFrame({"base": ["a", "b"], "source": ["b", "c"]}),
                         "continent": pd.DataFrame({"base": ["a"], "source": ["c"]})}}
    row = grid_module.result_row(result)
    assert row["hits_cause"] == "10" and row["hits_continent"] == "1" and row["n_entities"] == 3
    assert (row["cause"], row["cause_lo"], row["continent_hi"], row["disentangle"]) == (0.5, 0.2, 1.0, 0.75)
    assert grid_module.pair_lists(result) == {"cause": [["a", "b"], ["b", "c"]], "continent": [["a", "c"]]}


def test_sweep_trains_runs_sharing_lr_and_batch_size_together(model, monkeypatch):
    facts = dc.known_facts(model, "country", table=dc.load_cities().iloc[::8])
    fit, val, _ = sel.split_three_ways(facts, "country", 0)
    fit_pairs, val_pairs = sel.make_validation_pairs(model, fit, val, "country", 32, "the test table")
    calls = []
    train_das_many = sel.train_das_many

    def counted(model, pairs, layers, runs, steps, lr, batch_size, **kwargs):
        calls.append((lr, batch_size, list(layers), list(runs)))
        return train_das_many(model, pairs, layers, runs, steps, lr, batch_size, **kwargs)

    monkeypatch.setattr(sel, "train_das_many", counted)
    configs = sel.configurations([2, 4], [4], [1e-2, 3e-3], [4])
    rows, pairs = sel.grid_search(model, fit_pairs, val_pairs, configs, seeds=[0, 1], steps=1, attribute="country",
                                  progress=False)
    assert [(lr, b) for lr, b, _, _ in calls] == [(1e-2, 4), (3e-3, 4)]  # one stacked call per (lr, batch_size)
    assert calls[0][2:] == ([2, 2, 4, 4], [(4, 0), (4, 1), (4, 0), (4, 1)])
    assert len(rows) == 8 and set(rows.columns) >= {"method", "cause", "cause_lo", "cause_hi", "hits_cause",
                                                    "n_entities", "train_seconds", "seed", "steps"}
    assert (rows.cause_lo <= rows.cause).all() and (rows.cause <= rows.cause_hi).all()
    assert (rows.n_entities == len(set(val_pairs.base) | set(val_pairs.source))).all()
    assert (rows.hits_cause.str.len() == len(pairs["cause"])).all() and (rows.method == "DAS").all()
    assert pairs["cause"] == [[b, s] for b, s in zip(val_pairs.base, val_pairs.source)]


def test_scores_on_few_entities_say_so(model):
    known = dc.known_facts(model, ["country", "continent"]).drop_duplicates("country")  # every pair differs
    facts = known.head(6)
    pairs = make_pairs(model, facts)
    full = FullPatch()
    result = sel.rotation_scores(model, pairs, 12, full, "country", keep=("continent",), n_isolate=64)
    lo, hi = result["cause_ci"]
    assert 0.0 <= lo <= result["cause"] <= hi <= 1.0
    assert result["n_entities_scored"]["cause"] == 6 and result["n_pairs"] < 50
    assert "cause" in result["few_pairs"]  # under 10 entities: the interval, not the score, is the news
    more = sel.rotation_scores(model, make_pairs(model, known.head(12)), 12, full, "country")
    assert more["few_pairs"] == [] and more["isolate"] is None and more["n_pairs"] >= 50
