"""dascourse.pairs without the model: building pairs, the entity split, the pair-table checks and the
Isolate filter, on a word-level stand-in tokenizer (tests/stub_model.py)."""
import math

import pandas as pd
import pytest
from stub_model import StubModel

from dascourse.pairs import answer_ids, check_pair_columns, isolate_pairs, make_pairs, split_by_city

CITIES = pd.DataFrame({
    "city": ["Paris", "Lyon", "Seoul", "Cape Town", "Tokyo", "Rome"],
    "country": ["France", "France", "South Korea", "South Africa", "Japan", "Italy"],
    "continent": ["Europe", "Europe", "Asia", "Africa", "Asia", math.nan],
})


def test_make_pairs_keeps_pairs_whose_first_answer_tokens_differ():
    pairs = make_pairs(StubModel(), CITIES)
    kept = set(zip(pairs.base, pairs.source))
    assert ("Paris", "Tokyo") in kept
    assert ("Paris", "Lyon") not in kept and ("Paris", "Paris") not in kept  # same country
    assert ("Seoul", "Cape Town") not in kept  # " South" <- " South"
    # 6 x 6 ordered pairs, less those sharing a first token: France x France (4), South x South (4), the 2 others' self-pairs
    assert len(pairs) == 36 - 4 - 4 - 2
    assert list(pairs.columns) == ["base", "base_country", "base_continent", "source", "source_country",
                                   "source_continent"]


def test_make_pairs_samples_reproducibly_and_checks_its_input():
    model = StubModel()
    assert make_pairs(model, CITIES, n=5, seed=1).equals(make_pairs(model, CITIES, n=5, seed=1))
    assert len(make_pairs(model, CITIES, n=5)) == 5
    assert len(make_pairs(model, CITIES.iloc[:2], CITIES.iloc[4:])) == 4  # bases x other sources
    with pytest.raises(ValueError, match="at least one base city"):
        make_pairs(model, CITIES.iloc[:0])
    with pytest.raises(ValueError, match="'language' column"):
        make_pairs(model, CITIES, attribute="language")


def test_split_by_city_puts_each_city_on_one_side():
    table = pd.DataFrame({"city": [f"c{i}" for i in range(20)], "country": [f"k{i % 6}" for i in range(20)]})
    train, test, unseen = split_by_city(table, test_frac=0.2, seed=3)
    assert len(test) + len(unseen) == 4 and len(train) == 16
    assert not set(train.city) & (set(test.city) | set(unseen.city))
    assert set(test.country) <= set(train.country)
    assert not set(unseen.country) & set(train.country)
    again = split_by_city(table, test_frac=0.2, seed=3)
    assert all(a.equals(b) for a, b in zip((train, test, unseen), again))
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_by_city(table, test_frac=1.0)
    with pytest.raises(ValueError, match="some city twice"):
        split_by_city(pd.concat([table, table.iloc[:1]]))


def test_check_pair_columns_names_the_missing_columns():
    pairs = make_pairs(StubModel(), CITIES)
    check_pair_columns(pairs, ["country", "continent"])
    with pytest.raises(ValueError, match=r"\['base_language', 'source_language'\]"):
        check_pair_columns(pairs, ["language"])


def test_isolate_pairs_drops_missing_and_same_first_token_answers():
    model = StubModel()
    pairs = make_pairs(model, CITIES)
    differ = isolate_pairs(model, pairs, "continent")
    assert differ.base_continent.notna().all() and differ.source_continent.notna().all()  # Rome sits out
    assert (differ.base_continent != differ.source_continent).all()  # Seoul <- Tokyo (both Asia) sits out
    assert len(differ) == len(pairs[pairs.base_continent.notna() & pairs.source_continent.notna()
                                    & (pairs.base_continent != pairs.source_continent)])


def test_answer_ids_are_first_tokens():
    model = StubModel()
    ids = answer_ids(model, ["South Korea", "South Africa", "France"]).tolist()
    assert ids[0] == ids[1] != ids[2]
