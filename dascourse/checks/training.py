"""Checks for chapter 5's exercises (training DAS). They need no model."""
import pandas as pd
import torch

from . import call, check, expect, passed

IIA_HINT = ("logits is [N, vocab] and targets [N]: compare logits.argmax(-1) (the top token of each pair, not "
            "argmax(0)) with targets, then take the mean of the matches as floats (.float().mean(); a bool tensor "
            "has no mean).")


def _number(got, case):
    """`got` as a float, or a CheckFailed saying that IIA is one number."""
    expect(isinstance(got, (int, float)) or (torch.is_tensor(got) and got.numel() == 1),
           f"{case}: return one number (the share of pairs), got "
           f"{tuple(got.shape) if torch.is_tensor(got) else type(got).__name__}.")
    return float(got)


@check
def check_iia(iia):
    """iia(logits, targets) = share of rows whose top logit is the target token id."""
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5], [0.0, 0.2, 0.1], [1.0, -2.0, 4.0]])
    # A square case, where the argmax over pairs (dim 0) instead of over the vocabulary has the right shape.
    square = torch.tensor([[0.0, 5.0, 1.0], [2.0, 0.0, 3.0], [1.0, 0.5, 0.0]])
    cases = [(square, [1, 2, 0], 1.0), (logits, [1, 0, 1, 2], 1.0), (logits, [1, 0, 2, 0], 0.5),
             (logits, [0, 1, 0, 1], 0.0), (logits, [2, 0, 1, 1], 0.5), (logits[:1], [1], 1.0), (logits[:1], [0], 0.0)]
    for rows, targets, want in cases:
        case = f"logits of {len(rows)} pair{'s' * (len(rows) > 1)}, targets {targets}"
        targets = torch.tensor(targets)
        got = _number(call(iia, rows, targets, case=case, hint=IIA_HINT), case)
        hits = (rows.argmax(-1) == targets).sum().item()
        expect(abs(got - hits) > 1e-6 or abs(hits - want) < 1e-6,
               f"{case}: you returned {got:g}, the number of hits; IIA is their share: divide by the number of pairs.")
        by_pair = (rows.argmax(0) == targets).float().mean().item() if len(rows) == rows.shape[1] else None
        expect(by_pair is None or abs(got - want) < 1e-6 or abs(got - by_pair) > 1e-6,
               f"{case}: expected IIA {want}, got {got:.3f}: that is the argmax over the pairs (dim 0); take it over "
               f"the vocabulary, logits.argmax(-1), one top token per pair.")
        expect(abs(got - want) < 1e-6,
               f"{case}: expected IIA {want}, got {got:.3f}. Count the rows whose argmax equals the target, divided "
               f"by the number of rows.")
    passed("iia")


def _toy_table():
    countries = {"France": 6, "Japan": 5, "Brazil": 4, "Italy": 3, "Peru": 2, "Chile": 1, "Fiji": 1}
    rows = [(f"{c[:3]}-{i}", c) for c, n in countries.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["city", "country"])


def _cities(split):
    return tuple(sorted(split[0]["city"])), tuple(sorted(split[1]["city"]))


@check
def check_split_by_city(split_by_city):
    """split_by_city(table, test_frac, seed) -> (train, test): no city on both sides, train holds about
    1 - test_frac of the cities, every test city's country also has a training city, test holds some cities,
    the seed decides the split (the same seed twice: the same split; other seeds: other splits)."""
    table = _toy_table()
    n = len(table)
    splits = {}
    for test_frac in (0.3, 0.5):
        for seed in range(5):
            case = f"test_frac={test_frac}, seed={seed}"
            got = call(split_by_city, table, test_frac, seed, case=case,
                       hint="table has columns city and country, one row per city.")
            expect(isinstance(got, tuple) and len(got) == 2 and all(isinstance(t, pd.DataFrame) for t in got),
                   f"{case}: return two tables, (train, test); got {type(got).__name__}"
                   f"{f' of {len(got)} items' if isinstance(got, tuple) else ''}.")
            train, test = got
            both = set(train["city"]) & set(test["city"])
            expect(not both, f"{case}: cities in both train and test: {sorted(both)}. Split the cities, not rows.")
            expect(set(train["city"]) | set(test["city"]) <= set(table["city"]), f"{case}: unknown cities returned.")
            expect(len(test) > 0, f"{case}: the test table is empty; hold out about test_frac of the cities.")
            held = n - len(train)
            expect(abs(held - test_frac * n) <= 1,
                   f"{case}: {held} of the {n} cities are not in train; expected about test_frac * {n} = "
                   f"{test_frac * n:g}. Hold out round(test_frac * number of cities), using the test_frac given.")
            missing = set(test["country"]) - set(train["country"])
            expect(not missing, f"{case}: test cities of {sorted(missing)} but no training city of that country; the "
                                f"rotation could never have learnt to write it. Leave such cities out of test.")
            splits[test_frac, seed] = _cities(got)
        again = _cities(call(split_by_city, table, test_frac, 0, case=case))
        expect(again == splits[test_frac, 0],
               f"test_frac={test_frac}: two calls with seed=0 gave different splits. Shuffle with the seed given "
               f"(table.sample(frac=1, random_state=seed)), not with the global random state, so a split can be "
               f"repeated.")
        expect(len({splits[test_frac, seed] for seed in range(5)}) > 1,
               f"test_frac={test_frac}: seeds 0 to 4 all gave the same split: the seed is ignored. Shuffle with it "
               f"(random_state=seed), so that another seed holds out other cities.")
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
    """split_by_city(table, test_frac, seed) -> (train, test, unseen), as dc.split_by_city: hold out
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
