"""The chapters' settings come from the committed grid (`make selection`), and the page that shows it agrees.

- course_settings() is choose_das recomputed from the committed CSV and the JSON's pairs (the smallest k
  whose validation Cause the paired interval cannot tell from the best k's), multitask_settings() is
  choose_mdas recomputed (the highest mean validation Disentangle), both with the grid's knobs;
- every DAS configuration has the JSON's seeds (at least three), every MDAS one its MDAS seeds (at least two),
  and every row's hits match the JSON's pairs;
- the grid never saw a held-out city: its fit, validation and held-out counts are the split's;
- book/settings.md includes the table that tools/selection_report.py writes from the grid, and it is current.
"""
from pathlib import Path

import dascourse as dc
from dascourse.selection import choose_das, choose_mdas
from tools import selection_report

ROOT = Path(__file__).resolve().parents[1]
KNOBS = ("lr", "batch_size", "steps")


def test_course_settings_are_the_smallest_k_rule_recomputed_from_the_csv():
    rows, summary = dc.load_grid("selection")
    choice = choose_das(rows, summary["pairs"])
    assert dc.course_settings() == {"layer": choice["layer"], "k": choice["k"], **{key: summary[key] for key in KNOBS}}
    assert summary["das"]["minus_best"] == choice["minus_best"] and summary["das"]["rule"] == choice["rule"]


def test_multitask_settings_are_the_best_disentangle_recomputed_from_the_csv():
    rows, summary = dc.load_grid("selection")
    choice = choose_mdas(rows)
    assert dc.multitask_settings() == {"layer": choice["layer"], "k": choice["k"],
                                       **{key: summary[key] for key in KNOBS}}


def test_every_trained_configuration_has_its_seeds_and_hits_on_the_jsons_pairs():
    rows, summary = dc.load_grid("selection")
    for method, seeds, at_least in (("DAS", summary["seeds"], 3), ("MDAS", summary["mdas_seeds"], 2)):
        assert len(seeds) >= at_least, f"{method} needs at least {at_least} seeds"
        for (layer, k), runs in rows[rows.method == method].groupby(["layer", "k"]):
            assert sorted(runs.seed) == sorted(seeds), f"{method} at layer {layer}, k {k}: seeds {list(runs.seed)}"
    for name, pairs in summary["pairs"].items():
        assert (rows[f"hits_{name}"].str.len() == len(pairs)).all(), f"hits_{name} and pairs[{name!r}] disagree"
    assert len(summary["pairs"]["cause"]) == summary["n_val_pairs"]


def test_grid_left_the_held_out_cities_alone():
    _, summary = dc.load_grid("selection")
    # split_by_city(known, 0.2) holds out a fifth; the grid validates on a fifth of the rest
    n = summary["n_fit_entities"] + summary["n_val_entities"] + summary["n_held_out_entities"]
    assert abs(summary["n_held_out_entities"] - 0.2 * n) <= 1
    assert abs(summary["n_val_entities"] - 0.2 * (n - summary["n_held_out_entities"])) <= 1
    cities = {city for pairs in summary["pairs"].values() for pair in pairs for city in pair}
    assert len(cities) <= summary["n_val_entities"], "a validation pair names a city outside the validation fifth"


def test_settings_page_table_is_current():
    assert selection_report.main(["--check"]) == 0, "run `python -m tools.selection_report` and commit the table"
    page = (ROOT / "book" / "settings.md").read_text()
    assert "generated/selection_table.md" in page, "book/settings.md must include the generated table"
    assert "make selection" in page
