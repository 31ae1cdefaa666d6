"""tools/seed_spread.py (chapters 5 and 7's seed spreads, `make seeds`): a small run, and the committed CSVs
made with the course settings the chapters read."""
import subprocess
import sys
from pathlib import Path

import pandas as pd

from dascourse.settings import course_settings
from tools.seed_spread import CHAPTER_7

ROOT = Path(__file__).parents[1]
KNOBS = ("layer", "k", "lr", "batch_size", "steps")


def test_seed_spread_writes_one_row_per_seed(tmp_path):
    out = tmp_path / "seeds.csv"
    subprocess.run([sys.executable, ROOT / "tools" / "seed_spread.py", "--seeds", "0", "--steps", "2",
                    "--out", out], check=True, capture_output=True, cwd=ROOT)
    table = pd.read_csv(out)
    assert list(table.seed) == [0] and table.steps.tolist() == [2]
    for column in ("iia_train", "iia_held_out", "iia_unseen_country"):
        assert table[f"{column}_lo"].iloc[0] <= table[column].iloc[0] <= table[f"{column}_hi"].iloc[0]


def test_the_committed_spread_is_chapter_5s_run():
    """Chapter 5 trains with the course settings; its seed table must have been made with them (`make seeds`)."""
    table = pd.read_csv(ROOT / "dascourse" / "data" / "training_seeds.csv")
    settings = course_settings()
    assert list(table.seed) == [0, 1, 2]
    for knob in KNOBS:
        assert (table[knob] == settings[knob]).all(), f"training_seeds.csv: {knob} is not the settings': run `make seeds`"


def test_the_committed_multitask_spread_is_chapter_7s_runs():
    """Chapter 7's three methods, seeds 0-2, with the settings' layer, k and lr and the chapter's shorter training."""
    table = pd.read_csv(ROOT / "dascourse" / "data" / "multitask_seeds.csv")
    settings = course_settings()
    short = table[table.method != "DAS, the settings' training"]
    assert sorted(set(short.method)) == ["Boundless DAS", "DAS", "MDAS"]
    assert all(sorted(group.seed) == [0, 1, 2] for _, group in short.groupby("method"))
    for knob in ("layer", "k", "lr"):
        assert (table[knob] == settings[knob]).all(), f"multitask_seeds.csv: {knob} is not the settings': run `make seeds`"
    assert (short.steps == CHAPTER_7["steps"]).all() and (short.batch_size == CHAPTER_7["batch_size"]).all()
    full = table[table.method == "DAS, the settings' training"]
    assert len(full) == 1 and full.steps.item() == settings["steps"] and full.batch_size.item() == settings["batch_size"]
    for score in ("cause", "continent", "language"):
        assert (table[f"{score}_lo"] <= table[score]).all() and (table[score] <= table[f"{score}_hi"]).all()
