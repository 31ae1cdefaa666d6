"""metrics.paired_difference and the formatting of intervals whose resamples all agree."""
import numpy as np
import pandas as pd
import pytest

from dascourse.metrics import all_agree_bound, entity_interval, format_interval, paired_difference, with_intervals

N_ENTITIES, N_PAIRS, TRUE_DIFF = 30, 200, 0.10


def synthetic_pairs(rng):
    """N_PAIRS pairs over N_ENTITIES shared entities, two methods scored on the same pairs.

    Entity e has quality q_e ~ U(0.55, 0.95) for method a and r_e = q_e - 0.10 + U(-0.05, 0.05) for method b
    (shared entity effects: the hard entities are hard for both). Pair i succeeds for a with probability
    (q_base + q_source) / 2 and for b with (r_base + r_source) / 2, from one shared uniform draw (so the
    two outcomes are paired). Over new entities, rate_a - rate_b = E[q] - E[r] = 0.10 exactly."""
    q = rng.uniform(0.55, 0.95, N_ENTITIES)
    r = q - TRUE_DIFF + rng.uniform(-0.05, 0.05, N_ENTITIES)
    base = rng.integers(N_ENTITIES, size=N_PAIRS)
    source = (base + rng.integers(1, N_ENTITIES, size=N_PAIRS)) % N_ENTITIES  # never the base
    u = rng.uniform(size=N_PAIRS)
    return u < (q[base] + q[source]) / 2, u < (r[base] + r[source]) / 2, base, source


def test_paired_interval_covers_the_true_difference():
    """Measured (400 draws): coverage 1.000; mean width 0.140, 1.8 times 2 x 1.96 x the spread of the estimates
    over the draws (0.020): conservative, as a crossed design's entity bootstrap is (pair i's weight
    m_base m_source varies more than one entity's m). It still excludes 0 in 0.998 of the draws, where the two
    methods' separate entity intervals overlap in all of them."""
    rng = np.random.default_rng(0)
    diffs, covered, width, excludes_zero, separate_overlap = [], [], [], [], []
    for draw in range(400):
        a, b, base, source = synthetic_pairs(rng)
        diff, lo, hi = paired_difference(a, b, base, source, seed=draw)
        diffs.append(diff)
        covered.append(lo <= TRUE_DIFF <= hi)
        width.append(hi - lo)
        excludes_zero.append(lo > 0)
        lo_a, hi_b = entity_interval(a, base, source, seed=draw)[0], entity_interval(b, base, source, seed=draw)[1]
        separate_overlap.append(lo_a <= hi_b)  # a's interval starts below b's end
    conservative = np.mean(width) / (2 * 1.96 * np.std(diffs))
    print(f"coverage {np.mean(covered):.3f}, mean width {np.mean(width):.3f} = {conservative:.2f} x the draws' "
          f"spread; excludes 0 in {np.mean(excludes_zero):.3f}; separate intervals overlap in {np.mean(separate_overlap):.3f}")
    assert np.mean(covered) >= 0.93
    assert conservative < 2.5  # wide, but not uselessly so
    assert np.mean(excludes_zero) >= 0.9 and np.mean(separate_overlap) >= 0.9


def test_paired_difference_is_the_difference_of_the_rates():
    a, b = np.array([1, 1, 0, 1]), np.array([0, 1, 0, 0])
    diff, lo, hi = paired_difference(a, b, ["x", "y", "z", "x"], ["y", "z", "x", "z"])
    assert diff == pytest.approx(0.5)
    assert lo <= diff <= hi
    same = paired_difference(a, a, ["x", "y", "z", "x"], ["y", "z", "x", "z"])
    assert same == (0.0, 0.0, 0.0)


def test_paired_difference_names_the_mismatch():
    with pytest.raises(ValueError, match="same pairs"):
        paired_difference([1, 0], [1, 0, 1], ["x", "y"], ["y", "x"])


def test_agreeing_resamples_are_not_shown_as_certainty():
    assert all_agree_bound(30) == pytest.approx(1 - 0.05 ** (1 / 30))
    assert format_interval(1.0, 1.0, 1.0, n_entities=30) == "1.00 [>= 0.90]"
    assert format_interval(0.0, 0.0, 0.0, n_entities=30) == "0.00 [<= 0.10]"
    assert format_interval(1.0, 1.0, 1.0) == "1.00 (all agree)"
    assert format_interval(0.5, 0.25, 0.75) == "0.50 [0.25, 0.75]"
    table = pd.DataFrame({"cause": [1.0, 0.5], "cause_lo": [1.0, 0.3], "cause_hi": [1.0, 0.7]}, index=["m", "n"])
    assert list(with_intervals(table)["cause"]) == ["1.00 (all agree)", "0.50 [0.30, 0.70]"]
