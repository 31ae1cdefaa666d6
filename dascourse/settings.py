"""The course's DAS settings (layer, k, learning rate, batch size, steps), chosen once on validation data.

`make selection` runs `python -m dascourse select` on the course's city table (validation entities carved
out of the training entities; the held-out ones never touched) and commits its output:
dascourse/data/course_selection.csv (one row per configuration and seed) and course_selection.json (its
JSON line: the best configuration by mean validation Cause over seeds). The training, evaluation and
multi-task chapters read it with `course_settings()`, so that they use one configuration, and the book
page "How the settings were chosen" shows the sweep.
"""
import io
import json
from importlib import resources

import pandas as pd

SELECTION_CSV, SELECTION_JSON = "course_selection.csv", "course_selection.json"


def _data_text(name):
    return resources.files("dascourse").joinpath("data", name).read_text(encoding="utf-8")


def course_selection() -> "tuple[pd.DataFrame, dict]":
    """(rows, summary): the committed sweep, one row per configuration and seed, and its JSON summary."""
    return pd.read_csv(io.StringIO(_data_text(SELECTION_CSV))), json.loads(_data_text(SELECTION_JSON))


def course_settings() -> dict:
    """{"layer", "k", "lr", "batch_size", "steps"}: the best configuration of the committed sweep (mean
    validation Cause over seeds), trained for the sweep's number of steps."""
    rows, summary = course_selection()
    best = summary["best"]
    steps = rows["steps"].unique()
    if len(steps) != 1:
        raise ValueError(f"dascourse/data/{SELECTION_CSV} mixes step counts {sorted(steps)}: rerun `make selection`.")
    return {key: best[key] for key in ("layer", "k", "lr", "batch_size")} | {"steps": int(steps[0])}
