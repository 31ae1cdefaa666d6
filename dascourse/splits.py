"""The chapters' cities (chapters 5-8 and the tools that repeat their runs): one split, made one way.

    facts                = the cities whose country the model knows (known_facts), each attribute of `keep`
                           blanked (NaN) where the model gets it wrong
    train, test, unseen  = split_by_city(facts, test_frac, seed): RAVEL's entity split (chapter 5)

Chapter 5 writes split_by_city itself (an exercise) and calls it as split(facts, 0.2, 0); the tools call
`course_split`, and tests/test_splits.py runs chapter 5's own cell to show that both give the same
cities and pairs.
"""
import pandas as pd

from .facts import known_facts
from .pairs import split_by_city

TEST_FRAC, SEED = 0.2, 0  # chapter 5's held-out share of the cities, and its seed


def course_facts(model, keep: tuple = ()) -> pd.DataFrame:
    """The cities whose country the model knows, with each attribute of `keep` blanked (NaN) where the model
    gets that attribute wrong (chapter 7: an Isolate term skips a blank, not the whole city)."""
    facts = known_facts(model, "country")
    if keep:
        facts = facts.copy()
        for attribute in keep:
            known = set(known_facts(model, ["country", attribute]).city)
            facts[attribute] = facts[attribute].where(facts.city.isin(known))
    return facts


def course_split(model, keep: tuple = (), test_frac: float = TEST_FRAC,
                 seed: int = SEED) -> "tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]":
    """(train, test, unseen) cities of the chapters: split_by_city(course_facts(model, keep), test_frac, seed)."""
    return split_by_city(course_facts(model, keep), test_frac=test_frac, seed=seed)
