"""Checks for chapter 5's exercises (training DAS). They need no model."""
import pandas as pd
import torch

from . import expect, passed


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
