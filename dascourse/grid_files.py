"""The committed grid files of `make selection` (tools/course_grid.py), read back: rows with per-pair hits,
and paired differences recomputed from them without the model.

    course_selection.csv / .json     validation rows (method, layer, k, seed, scores, hits_<score>) + choices
    evaluation_ksweep.csv / evaluation_pairs.json   chapter 6's k curve on held-out cities

hits_<score> is a string of 0/1, one per pair of pairs[<score>] in the JSON file ([[base, source], ...]; the
same pairs for every row of a file), so two methods' difference is paired:

    diff = mean_i(hits_a_i) - mean_i(hits_b_i), with `paired_difference`'s entity-bootstrap 95% interval

where a method scored with several seeds contributes its seed-averaged hit per pair.
"""
import io
import json
from importlib import resources

import numpy as np
import pandas as pd

from .metrics import paired_difference

FILES = {"selection": ("course_selection.csv", "course_selection.json"),
         "ksweep": ("evaluation_ksweep.csv", "evaluation_pairs.json")}


def load_grid(name: str) -> "tuple[pd.DataFrame, dict]":
    """(rows, summary) of the committed grid file `name`: "selection" (validation) or "ksweep" (held-out)."""
    if name not in FILES:
        raise ValueError(f"name={name!r}: use one of {sorted(FILES)}.")
    csv, js = (resources.files("dascourse").joinpath("data", f).read_text(encoding="utf-8") for f in FILES[name])
    return read_rows(io.StringIO(csv)), json.loads(js)


def read_rows(path_or_buffer) -> pd.DataFrame:
    """A grid CSV with its hits_<score> columns kept as text (read as numbers, "0110" would lose its 0s)."""
    header = pd.read_csv(path_or_buffer, nrows=0).columns
    if hasattr(path_or_buffer, "seek"):
        path_or_buffer.seek(0)
    return pd.read_csv(path_or_buffer, dtype={c: str for c in header if c.startswith("hits_")})


def seed_mean_hits(runs: pd.DataFrame, score: str = "cause") -> np.ndarray:
    """Per-pair hit rate over the rows of `runs` (e.g. one method's seeds): hits_<score> strings averaged."""
    if runs.empty:
        raise ValueError("No rows selected: check the method, layer and k you filtered on.")
    return np.mean([[int(c) for c in text] for text in runs[f"hits_{score}"]], axis=0)


def grid_difference(runs_a: pd.DataFrame, runs_b: pd.DataFrame, summary: dict,
                    score: str = "cause") -> "tuple[float, float, float]":
    """(diff, lo, hi): method a's `score` minus method b's on the same pairs (each seed-averaged), with the
    paired entity-bootstrap 95% interval. score: "cause", or a kept attribute ("continent", "language")
    for Isolate."""
    pairs = np.array(summary["pairs"][score])
    return paired_difference(seed_mean_hits(runs_a, score), seed_mean_hits(runs_b, score), pairs[:, 0], pairs[:, 1])
