"""The chapters' settings come from the committed sweep (`make selection`), and the page that shows it agrees.

- course_settings() is the configuration with the best mean validation Cause in the committed CSV
  (recomputed here from the rows, not read from the JSON), trained for the sweep's steps;
- the sweep never saw a held-out city: its fit and validation cities are disjoint from chapter 5's held-out ones;
- book/settings.md includes the table that tools/selection_report.py writes from the CSV, and it is current.
"""
from pathlib import Path

from dascourse.settings import course_selection, course_settings
from tools import selection_report

ROOT = Path(__file__).resolve().parents[1]


def test_settings_are_the_best_mean_validation_cause():
    rows, summary = course_selection()
    knobs = ["layer", "k", "lr", "batch_size"]
    means = rows.groupby(knobs).val_cause.mean()
    layer, k, lr, batch_size = means.idxmax()
    settings = course_settings()
    assert (settings["layer"], settings["k"], settings["lr"], settings["batch_size"]) == (layer, k, lr, batch_size)
    assert settings["steps"] == rows.steps.iloc[0]
    assert rows.groupby(knobs).seed.nunique().min() >= 3, "every configuration needs at least 3 seeds"


def test_sweep_left_the_held_out_cities_alone():
    _, summary = course_selection()
    # split_by_city(known, 0.2) holds out a fifth; select validates on a fifth of the rest
    n = summary["n_fit_entities"] + summary["n_val_entities"] + summary["n_held_out_entities"]
    assert summary["n_held_out_entities"] == round(0.2 * n) or abs(summary["n_held_out_entities"] - 0.2 * n) <= 1


def test_settings_page_table_is_current():
    assert selection_report.main(["--check"]) == 0, "run `python -m tools.selection_report` and commit the table"
    page = (ROOT / "book" / "settings.md").read_text()
    assert "generated/selection_table.md" in page, "book/settings.md must include the generated table"
    assert "make selection" in page
