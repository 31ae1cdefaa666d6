"""tools/seed_spread.py (chapter 5's seed spread, `make seeds`), run small: one seed, two steps."""
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).parents[1]


def test_seed_spread_writes_one_row_per_seed(tmp_path):
    out = tmp_path / "seeds.csv"
    subprocess.run([sys.executable, ROOT / "tools" / "seed_spread.py", "--seeds", "0", "--steps", "2",
                    "--out", out], check=True, capture_output=True, cwd=ROOT)
    table = pd.read_csv(out)
    assert list(table.seed) == [0] and table.steps.tolist() == [2]
    for column in ("iia_train", "iia_held_out", "iia_unseen_country"):
        assert 0 <= table[column].iloc[0] <= 1


def test_the_committed_spread_is_chapter_5s_run():
    """Seed 0 of the committed file is the chapter's own training (same knobs, same numeric mode)."""
    table = pd.read_csv(ROOT / "dascourse" / "data" / "training_seeds.csv")
    assert list(table.seed) == [0, 1, 2]
    assert (table.steps == 100).all() and (table.k == 256).all() and (table.layer == 12).all()
