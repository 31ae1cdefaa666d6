"""Checks for chapter 5's exercises (training DAS). They need no model."""
import pandas as pd
import torch

from . import check, expect, passed


def check_iia(iia):
    """iia(logits, targets) = share of rows whose top logit is the target token id."""
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5], [0.0, 0.2, 0.1], [1.0, -2.0, 4.0]])
    for targets, want in [([1, 0, 1, 2], 1.0), ([1, 0, 2, 0], 0.5), ([0, 1, 0, 1], 0.0), ([2, 0, 1, 1], 0.5)]:
        got = iia(logits, torch.tensor(targets))
        expect(abs(float(got) - want) < 1e-6,
               f"targets {targets}: expected IIA {want}, got {float(got)}. Count the rows whose argmax equals "
               f"the target, divided by the number of rows.")
    passed("iia")


def _toy_table():
    countries = {"France": 6, "Japan": 5, "Brazil": 4, "Italy": 3, "Peru": 2, "Chile": 1, "Fiji": 1}
    rows = [(f"{c[:3]}-{i}", c) for c, n in countries.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["city", "country"])


def check_split_by_city(split_by_city):
    """split_by_city(table, test_frac, seed) -> (train, test): no city on both sides, every test city's
    country also has a training city, and test holds some cities."""
    table = _toy_table()
    for seed in range(5):
        train, test = split_by_city(table, 0.3, seed)
        both = set(train["city"]) & set(test["city"])
        expect(not both, f"seed {seed}: cities in both train and test: {sorted(both)}. Split the cities, not rows.")
        expect(set(train["city"]) | set(test["city"]) <= set(table["city"]), f"seed {seed}: unknown cities returned.")
        expect(len(test) > 0, f"seed {seed}: the test table is empty; hold out about test_frac of the cities.")
        missing = set(test["country"]) - set(train["country"])
        expect(not missing, f"seed {seed}: test cities of {sorted(missing)} but no training city of that country; "
                            f"the rotation could never have learnt to write it. Leave such cities out of test.")
    passed("split_by_city")


def _split_parts(split_by_city, table, test_frac, seed):
    """The learner's (train, test, unseen), or CheckFailed naming what came back instead."""
    got = split_by_city(table, test_frac, seed)
    expect(isinstance(got, tuple) and len(got) == 3,
           f"split_by_city(table, {test_frac}, {seed}) must return three tables (train, test, unseen), got "
           f"{type(got).__name__}{f' of {len(got)}' if isinstance(got, tuple) else ''}. unseen: the held-out "
           f"cities whose country no training city has.")
    for name, part in zip(("train", "test", "unseen"), got):
        expect(isinstance(part, pd.DataFrame) and {"city", "country"} <= set(part.columns),
               f"{name} must be a table of cities with the columns city and country (rows of `table`), "
               f"got {type(part).__name__}.")
    return got


@check
def check_held_out_split(split_by_city):
    """split_by_city(table, test_frac, seed) -> (train, test, unseen), as das.split_by_city: hold out
    max(1, round(test_frac * n)) of the n cities, chosen by `seed`; test = held-out cities whose country
    some training city has, unseen = the other held-out cities; every city in exactly one table."""
    table = _toy_table()
    n = len(table)
    held_sets = {}
    for test_frac, seed in [(0.3, 0), (0.3, 1), (0.3, 2), (0.5, 0), (0.1, 0)]:
        train, test, unseen = _split_parts(split_by_city, table, test_frac, seed)
        where = f"test_frac={test_frac}, seed={seed}"
        names = [list(part["city"]) for part in (train, test, unseen)]
        every = names[0] + names[1] + names[2]
        expect(len(every) == len(set(every)),
               f"{where}: some city is in two tables (or twice in one): "
               f"{sorted({c for c in every if every.count(c) > 1})}. Split the cities, then pair them.")
        expect(set(every) == set(table["city"]),
               f"{where}: {sorted(set(table['city']) - set(every))} went missing. Every city belongs to one of "
               f"train, test and unseen: unseen keeps the held-out cities that cannot go into test.")
        want = max(1, round(test_frac * n))
        expect(abs(len(test) + len(unseen) - want) <= 1,
               f"{where}: {len(test) + len(unseen)} of {n} cities held out (test + unseen), expected about "
               f"{want}. Use test_frac: hold out round(test_frac * number of cities), not a fixed share.")
        wrong_test = set(test["country"]) - set(train["country"])
        expect(not wrong_test, f"{where}: test holds cities of {sorted(wrong_test)}, a country no training city "
                               f"has; the rotation never learnt to write it. Those cities go to unseen.")
        wrong_unseen = set(unseen["country"]) & set(train["country"])
        expect(not wrong_unseen, f"{where}: unseen holds cities of {sorted(wrong_unseen)}, which training cities "
                                 f"have; unseen is only for countries absent from train. Those go to test.")
        again = _split_parts(split_by_city, table, test_frac, seed)
        expect(sorted(again[0]["city"]) == sorted(names[0]),
               f"{where}: two calls with the same seed held out different cities. Draw the order from a "
               f"generator made from `seed` (np.random.default_rng(seed) or table.sample(random_state=seed)), "
               f"not from the global random state.")
        held_sets[test_frac, seed] = frozenset(names[1] + names[2])
    expect(len({held_sets[0.3, s] for s in (0, 1, 2)}) > 1,
           "seeds 0, 1 and 2 held out the same cities. The seed must choose which cities are held out: "
           "shuffle with it instead of taking the first or last rows of the table.")
    passed("split_by_city")
