"""dascourse.selection: the validation split, stacked training per (lr, batch_size), scores with intervals."""
import pandas as pd

import dascourse as dc
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


def test_best_configuration_is_the_best_mean_over_seeds():
    rows = pd.DataFrame([  # k=4 has the best single run, k=8 the best mean
        dict(layer=3, k=4, lr=0.01, batch_size=8, seed=0, val_cause=0.9),
        dict(layer=3, k=4, lr=0.01, batch_size=8, seed=1, val_cause=0.1),
        dict(layer=3, k=8, lr=0.01, batch_size=8, seed=0, val_cause=0.6),
        dict(layer=3, k=8, lr=0.01, batch_size=8, seed=1, val_cause=0.6),
    ])
    best, means = sel.best_configuration(rows)
    assert best == {"layer": 3, "k": 8, "lr": 0.01, "batch_size": 8, "mean_val_cause": 0.6, "n_seeds": 2}
    assert [m["k"] for m in means] == [8, 4] and means[1]["mean_val_cause"] == 0.5
    assert type(best["layer"]) is int  # plain numbers, ready for json


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
    rows = sel.grid_search(model, fit_pairs, val_pairs, configs, seeds=[0, 1], steps=1, attribute="country",
                     progress=False)
    assert [(lr, b) for lr, b, _, _ in calls] == [(1e-2, 4), (3e-3, 4)]  # one stacked call per (lr, batch_size)
    assert calls[0][2:] == ([2, 2, 4, 4], [(4, 0), (4, 1), (4, 0), (4, 1)])
    assert len(rows) == 8 and set(rows.columns) >= {"val_cause", "val_cause_lo", "val_cause_hi", "n_val_pairs",
                                                    "n_val_entities", "train_seconds", "seed", "steps"}
    assert (rows.val_cause_lo <= rows.val_cause).all() and (rows.val_cause <= rows.val_cause_hi).all()
    assert (rows.n_val_entities == len(set(val_pairs.base) | set(val_pairs.source))).all()


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
