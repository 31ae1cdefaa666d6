"""Chapter 5's held-out split exercise (check_held_out_split) fed the usual wrong answers: each gets a
message naming the mistake, none a raw traceback; and chapter 7's fallback MDAS loss passes its check."""
import numpy as np
import pytest

from dascourse.checks import CheckFailed
from dascourse.checks.multitask import check_mdas_loss, mdas_loss
from dascourse.checks.training import check_held_out_split
from dascourse.pairs import split_by_city


def _finish(table, held):
    """(train, test, unseen) from the held-out rows `held` of `table`, done right."""
    train = table.drop(held.index)
    seen = held["country"].isin(set(train["country"]))
    return train, held[seen], held[~seen]


def ignores_test_frac(table, test_frac, seed):
    return _finish(table, table.sample(frac=0.2, random_state=seed))


def ignores_the_seed(table, test_frac, seed):
    return _finish(table, table.sample(frac=test_frac, random_state=0))


def global_random_state(table, test_frac, seed):
    order = np.random.permutation(len(table))  # not made from `seed`
    return _finish(table, table.iloc[order[:round(test_frac * len(table))]])


def first_rows(table, test_frac, seed):
    return _finish(table, table.iloc[:round(test_frac * len(table))])


def two_tables(table, test_frac, seed):
    return _finish(table, table.sample(frac=test_frac, random_state=seed))[:2]


def unseen_left_in_test(table, test_frac, seed):
    train, test, unseen = _finish(table, table.sample(frac=test_frac, random_state=seed))
    return train, table.loc[test.index.union(unseen.index)], unseen.iloc[:0]


def unseen_dropped(table, test_frac, seed):
    train, test, unseen = _finish(table, table.sample(frac=test_frac, random_state=seed))
    return train, test, unseen.iloc[:0]


def held_also_in_train(table, test_frac, seed):
    held = table.sample(frac=test_frac, random_state=seed)
    seen = held["country"].isin(set(table["country"]))
    return table, held[seen], held[~seen]


@pytest.mark.parametrize("wrong, message", [
    (ignores_test_frac, "Use test_frac"),
    (ignores_the_seed, "The seed must choose"),
    (global_random_state, "same seed held out different cities"),
    (first_rows, "The seed must choose"),
    (two_tables, "must return three tables"),
    (unseen_left_in_test, "a country no training city has"),
    (unseen_dropped, "went missing"),
    (held_also_in_train, "in two tables"),
])
def test_held_out_split_names_the_mistake(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_held_out_split(wrong)


def test_held_out_split_passes_the_librarys(capsys):
    check_held_out_split(split_by_city)
    assert "all checks passed" in capsys.readouterr().out


def test_a_stub_is_skipped(capsys):
    def split_by_city(table, test_frac, seed):
        raise NotImplementedError("Exercise 5.1: write split_by_city() first.")
    check_held_out_split(split_by_city)
    assert "still a stub" in capsys.readouterr().out


def test_the_fallback_mdas_loss_passes_its_check(capsys):
    check_mdas_loss(mdas_loss)
    assert "all checks passed" in capsys.readouterr().out
