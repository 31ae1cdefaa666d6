"""tools/seed_spread.py (chapter 7's seed spread, `make seeds`): a small run, and the committed CSV made with
the settings and knobs the chapter trains with."""
import subprocess
import sys
from pathlib import Path

import pandas as pd

from dascourse.settings import course_settings, multitask_settings
from tools.seed_spread import CHAPTER_7, METHODS

ROOT = Path(__file__).parents[1]
SCORES = ("cause", "continent", "language", "disentangle")


def check_intervals(table, prefix=""):
    for score in SCORES:
        value, lo, hi = (table[f"{prefix}{score}{end}"] for end in ("", "_lo", "_hi"))
        assert ((lo <= value + 1e-9) & (value <= hi + 1e-9)).all(), f"{prefix}{score} outside its interval"


def test_seed_spread_writes_one_row_per_seed(tmp_path):
    out = tmp_path / "seeds.csv"
    subprocess.run([sys.executable, ROOT / "tools" / "seed_spread.py", "--seeds", "0", "--steps", "2",
                    "--out", out], check=True, capture_output=True, cwd=ROOT)
    table = pd.read_csv(out)
    assert list(table.method) == list(METHODS) and set(table.seed) == {0} and set(table.steps) == {2}
    check_intervals(table)
    others = table[table.method != "DAS"]
    check_intervals(others, "diff_")
    assert ((others.diff_cause - (others.cause - table.cause.iloc[0])).abs() < 2e-4).all()  # minus the same seed's DAS
    boundless = table[table.method == "Boundless DAS (published)"].iloc[0]
    assert abs(boundless.width_end - boundless.width_start) <= 2 * 1e-2 * 576 + 1e-3  # 2 steps of lr_boundary * d


def test_the_committed_spread_is_chapter_7s_runs():
    """DAS at the plain-DAS settings, MDAS at the multi-task settings, Boundless at DAS's layer; seeds 0-2; the
    chapter's steps and batch (`make seeds` after `make selection` when this fails)."""
    table = pd.read_csv(ROOT / "dascourse" / "data" / "multitask_seeds.csv")
    assert list(dict.fromkeys(table.method)) == list(METHODS)
    assert all(sorted(group.seed) == [0, 1, 2] for _, group in table.groupby("method"))
    for method, settings in (("DAS", course_settings()), ("MDAS", multitask_settings())):
        rows = table[table.method == method]
        for knob in ("layer", "k", "lr"):
            assert (rows[knob] == settings[knob]).all(), f"multitask_seeds.csv: {method}'s {knob} is stale: run `make seeds`"
    assert (table[table.method == METHODS[2]].layer == course_settings()["layer"]).all()
    assert (table.steps == CHAPTER_7["steps"]).all() and (table.batch_size == CHAPTER_7["batch_size"]).all()
    check_intervals(table)
    check_intervals(table[table.method != "DAS"], "diff_")
