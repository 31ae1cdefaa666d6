import pandas as pd
import pytest

import dascourse as dc
from dascourse import facts


def test_city_table():
    table = dc.load_cities()
    assert len(table) >= 300
    assert list(table.columns) == ["city", "country", "continent", "language"]
    assert table.city.is_unique
    assert set(table.continent) == {"Europe", "Asia", "Africa", "North America", "South America", "Oceania"}
    assert (table.country.value_counts() >= 4).sum() >= 40  # countries repeat: an entity split is possible


def test_model_knows_enough_countries(model):
    known = dc.known_facts(model, "country")
    assert len(known) >= 150
    assert {"Paris", "Rio de Janeiro"} <= set(known.city)
    assert not {"Berlin", "Tokyo"} & set(known.city)  # solved examples of the template are left out


def test_known_for_all_attributes_is_the_intersection(model):
    both = dc.known_facts(model, ["country", "language"])
    assert set(both.city) == set(dc.known_facts(model, "country").city) & set(dc.known_facts(model, "language").city)


def test_known_facts_are_cached_per_model(model, tmp_path, monkeypatch):
    monkeypatch.setenv("DASCOURSE_CACHE", str(tmp_path))
    table = dc.load_cities().head(5)
    first = dc.known_facts(model, "country", table=table)
    assert list((tmp_path / "facts").glob("*.json"))

    def no_model(*args, **kwargs):
        raise AssertionError("the model was asked again")

    monkeypatch.setattr(facts, "next_token_logits", no_model)
    assert first.equals(dc.known_facts(model, "country", table=table))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attributes": "population"}, "Unknown attribute"),
        ({"attributes": []}, "No attribute"),
        ({"table": pd.DataFrame(columns=["city", "country"])}, "empty"),
        ({"attributes": "language", "table": pd.DataFrame({"city": ["Paris"], "country": ["France"]})}, "no column"),
    ],
)
def test_known_facts_bad_input(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        dc.known_facts(model, **kwargs)


def test_multi_token_answers(model):
    with pytest.raises(ValueError, match="'North America' is 2 tokens"):
        dc.answer_token(model.tokenizer, "North America")
    assert dc.answer_token(model.tokenizer, "North America", first_token_only=True) == dc.answer_token(
        model.tokenizer, "North", first_token_only=False
    )
