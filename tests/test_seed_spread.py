"""tools/seed_spread.py (chapter 7's runs repeated over seeds, `make seeds`): a small run. Chapter 7 reads its
seed spread from the committed grid (dc.load_grid("selection")), so no seeds CSV is committed."""
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tools.seed_spread import METHODS

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
    # 2 Adam steps of lr_boundary * d each; Adam's bias-corrected step can exceed lr by a hair (11.5227 for 11.52)
    assert abs(boundless.width_end - boundless.width_start) <= 2 * 1e-2 * 576 * 1.01
