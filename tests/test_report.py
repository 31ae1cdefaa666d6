"""`python -m dascourse report` (dascourse/report.py): the audit, the plan and the verdict's wording on small
tables, and -- with the model, in --quick mode -- the whole report on 150 cities the course never used
(tests/data/new_cities.csv, tools/new_cities.py), opened in headless Chromium."""
import json
from pathlib import Path

import pandas as pd
import pytest

import numpy as np

from dascourse.metrics import entity_interval, format_interval
from dascourse.report import audit, estimate_seconds, html, score_texts, verdict
from dascourse.selection import grid_scores

from tests.browser import chromium
from test_cli import assert_one_line_error, run_cli

NEW_CITIES = Path(__file__).parent / "data" / "new_cities.csv"


def test_audit_names_duplicates_empty_cells_and_values_held_by_one_entity():
    table = pd.DataFrame({"city": ["A", "B", "B", "C"], "country": ["X", "X", "Y", ""],
                          "continent": ["P", "P", "P", "Q"]})
    found = audit(table, "country", ["continent"])
    assert found["duplicates"] == ["B"]
    assert found["empty"] == {"country": 1, "continent": 0}
    assert found["single_values"] == {"country": ["Y"], "continent": ["Q"]}
    assert found["n_values"] == {"country": 2, "continent": 2}


def test_the_quick_estimate_is_shorter_and_keep_adds_time():
    assert estimate_seconds("quick", 1, False) < estimate_seconds("quick", 1, True) < estimate_seconds("full", 3, True)


def test_the_verdict_ranks_only_by_paired_intervals():
    held = {"cause": (0.7, "0.70 [0.60, 0.80]"), "continent": (0.8, "0.80 [0.70, 0.90]")}
    diffs = {"random subspace": {"cause": (0.4, 0.3, 0.5), "continent": (-0.1, -0.2, 0.0)},
             "full patching": {"cause": (-0.05, -0.1, 0.02), "continent": (0.5, 0.4, 0.6)}}
    lines = verdict("country", ["continent"], "MDAS", 16, 576, held, diffs, None, ["a warning"])
    text = " ".join(lines)
    assert "0.70 [0.60, 0.80] of held-out pairs" in text
    assert "0.40 [0.30, 0.50] more than random subspace" in text
    assert "cannot be told from full patching" in text  # its interval holds 0
    assert "better than patching everything" in text and lines[-1] == "a warning"


def test_held_out_texts_are_seed_averaged_hits_with_entity_intervals_per_score():
    rng = np.random.default_rng(0)
    names = [f"e{i}" for i in range(20)]
    pairs = {score: [[names[i % 20], names[(3 * i + 1 + j) % 20]] for i in range(n)]
             for j, (score, n) in enumerate((("cause", 60), ("continent", 30), ("language", 25)))}
    curve = pd.DataFrame([{"method": method, "k": k, "seed": seed, "cause": 0.0,
                           **{f"hits_{s}": "".join(str(v) for v in rng.integers(0, 2, len(p))) for s, p in pairs.items()}}
                          for method in ("MDAS", "random subspace") for k in (4, 16) for seed in (0, 1, 2)])
    scored = grid_scores(curve, pairs, by=("method", "k"))
    row = scored[(scored.method == "MDAS") & (scored.k == 16)].iloc[0]
    runs = curve[(curve.method == "MDAS") & (curve.k == 16)]
    for score, p in pairs.items():  # each score on its own pairs, the three seeds' hits averaged pair by pair
        hits = np.mean([[int(c) for c in text] for text in runs[f"hits_{score}"]], axis=0)
        base, source = np.array(p).T
        value, text = score_texts(row, [score])[score]
        assert value == hits.mean() and text == format_interval(hits.mean(), *entity_interval(hits, base, source))


def test_the_verdict_reads_the_unseen_value_score_with_its_interval():
    held = {"cause": (0.7, "0.70 [0.60, 0.80]")}
    unseen = {"cause": (0.1, "0.10 [0.02, 0.20]"), "n_pairs": 40}
    text = " ".join(verdict("country", [], "DAS", 16, 576, held, {}, None, [], unseen))
    assert "0.10 [0.02, 0.20] of 40 pairs" in text


def test_html_escapes_the_table_and_carries_the_figure():
    report = {"attribute": "<b>", "verdict": ["x < y"], "table_header": ["k", "Cause"],
              "table": {"DAS (k=4)": [4, "0.5 [0.4, 0.6]"]}, "plan": {"mode": "quick"}}
    page = html(report, "AAAA")
    assert "&lt;b&gt;" in page and "x &lt; y" in page and "data:image/png;base64,AAAA" in page
    assert "<script" not in page


def test_report_refuses_a_missing_column_in_one_line(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("city,country\nParis,France\n")
    assert_one_line_error(*run_cli("report", "--entities", table, "--attribute", "capital", "--out", tmp_path / "r"),
                          "no column 'capital'")


@pytest.mark.model
@pytest.mark.browser
def test_quick_report_on_cities_it_never_saw(tmp_path):
    out = tmp_path / "report"
    code, stdout, stderr = run_cli("report", "--entities", NEW_CITIES, "--attribute", "country",
                                   "--keep", "continent,language", "--out", out, "--quick")
    assert code == 0, stderr
    assert "plan:" in stderr and "min)" in stderr  # the plan and the progress lines with time
    summary = json.loads(stdout)
    report = json.loads((out / "report.json").read_text())
    assert report["method"] == "MDAS" and summary["k"] == report["k"]
    assert len(pd.read_csv(NEW_CITIES)) >= 60
    controls = report["minus_controls"]
    assert {"random subspace", "full patching", "PCA of differences"} <= set(controls)
    assert any(name.startswith("learned mask (DBM") for name in controls)
    for by_score in controls.values():  # every difference is paired: (diff, lo, hi) with lo <= diff <= hi
        for diff, lo, hi in by_score.values():
            assert lo - 1e-9 <= diff <= hi + 1e-9
    assert "cause" in report["held_out"] and set(report["held_out"]) <= {"cause", "continent", "language"}
    assert report["verdict"] and report["plan"]["fit entities"] > 0
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "Verdict" in page
    with chromium(tmp_path / "profile") as driver:
        driver.get((out / "report.html").as_uri())
        image = driver.find_element("css selector", "img")
        assert driver.execute_script("return arguments[0].naturalWidth", image) > 100  # the figure decoded
        shot = Path(__file__).parents[1] / "_build" / "screenshots" / "report_quick.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shot))
    # A second run resumes from DIR/cache: no run is trained again.
    code, _, stderr = run_cli("report", "--entities", NEW_CITIES, "--attribute", "country",
                              "--keep", "continent,language", "--out", out, "--quick")
    assert code == 0 and "trained" not in stderr, stderr
