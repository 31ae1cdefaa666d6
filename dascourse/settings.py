"""The course's DAS settings (layer, k, learning rate, batch size, steps), chosen once on validation data.

`make selection` runs tools/course_grid.py on the course's city table (validation entities carved
out of the training entities; the held-out ones never touched) and commits its output:
dascourse/data/course_selection.csv (one row per configuration and seed) and course_selection.json (its
choices: plain DAS's smallest k that carries the country, multi-task DAS's best validation Disentangle).
The training and evaluation chapters read the first with `course_settings()`, the multi-task chapter the
second with `multitask_settings()`, and the book page "How the settings were chosen" shows the grid.
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
    """{"layer", "k", "lr", "batch_size", "steps"} of plain DAS (chapters 5-6): the smallest k that carries
    the country on validation cities (selection.choose_das), as committed by `make selection`."""
    return _settings("das")


def multitask_settings() -> dict:
    """{"layer", "k", "lr", "batch_size", "steps"} of multi-task DAS (chapter 7): the (layer, k) with the
    highest mean validation Disentangle (selection.choose_mdas), as committed by `make selection`."""
    return _settings("mdas")


def _settings(method):
    _, summary = course_selection()
    if method not in summary:
        raise ValueError(f"dascourse/data/{SELECTION_JSON} has no {method!r} choice: rerun `make selection`.")
    return {key: summary[method][key] for key in ("layer", "k", "lr", "batch_size", "steps")}
