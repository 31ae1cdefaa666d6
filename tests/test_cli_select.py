"""python -m dascourse select and evaluate --split all on small tables, through the command line's main()
in this process with the session's model (test_cli.py runs train and evaluate as subprocesses)."""
import json

import pandas as pd
import pytest

import dascourse as dc
from dascourse import cli
from dascourse.interventions import RotatedSubspace
from dascourse.selection import choose_das
from dascourse.storage import save_intervention

from test_cli import COUNTRIES, assert_one_line_error


@pytest.fixture
def run_cli(request, monkeypatch, capsys):
    """main(ARGS) as `python -m dascourse ARGS` runs it: (exit status, stdout, stderr); the session's model
    stands in for load_model, loaded on first use (a command that fails before then never loads it)."""
    def loaded(name=None):
        model = request.getfixturevalue("model")
        assert name in (None, model.name, dc.DEFAULT_MODEL), name
        return model

    monkeypatch.setattr(cli, "load_model", loaded)

    def run(*args):
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_select_with_keep_writes_a_row_per_configuration_and_seed_and_chooses_the_best_disentangle(tmp_path,
                                                                                                   run_cli):
    cities = tmp_path / "cities.csv"
    dc.load_cities().iloc[::6].to_csv(cities, index=False)  # 71 cities keep it quick
    out = tmp_path / "sweep.csv"
    code, stdout, stderr = run_cli("select", "--entities", cities, "--keep", "continent", "--layers", "4,8", "--k", 4,
                                   "--lr", "1e-2", "--batch-size", 8, "--steps", 2, "--seeds", "0,1", "--pairs", 32,
                                   "--out", out)
    assert code == 0, stderr
    assert "select: 2 configurations x 2 seeds" in stderr  # one progress bar, on stderr
    report = json.loads(stdout)
    rows = dc.read_rows(out)
    assert len(rows) == 4 and sorted(zip(rows.layer, rows.seed)) == [(4, 0), (4, 1), (8, 0), (8, 1)]
    for column in ("method", "cause", "cause_lo", "cause_hi", "continent", "continent_lo", "isolate", "disentangle",
                   "hits_cause", "hits_continent", "n_entities", "train_seconds"):
        assert column in rows.columns, column
    assert (rows.method == "MDAS").all() and (rows.steps == 2).all()
    assert (rows.hits_cause.str.len() == len(report["pairs"]["cause"])).all() and len(report["pairs"]["cause"]) <= 32
    # With --keep the choice is the best mean Disentangle over the seeds, as the CSV has it.
    means = rows.groupby("layer").disentangle.mean()
    assert report["rule"] == report["chosen"]["rule"] == "highest mean validation Disentangle"
    assert report["chosen"]["layer"] == means.idxmax()
    assert report["chosen"]["mean_val_disentangle"] == pytest.approx(means.max(), abs=1e-4)
    assert report["n_fit_entities"] + report["n_val_entities"] + report["n_held_out_entities"] \
        == 71 - report["skipped_unknown"]["country"]


def test_select_without_keep_chooses_the_smallest_k_the_pairs_cannot_tell_from_the_best(tmp_path, run_cli):
    cities = tmp_path / "cities.csv"
    dc.load_cities().iloc[::6].to_csv(cities, index=False)
    out = tmp_path / "sweep.csv"
    code, stdout, stderr = run_cli("select", "--entities", cities, "--layers", 8, "--k", "1,4,16,64", "--steps", 2,
                                   "--seeds", "0,1", "--pairs", 32, "--out", out)
    assert code == 0, stderr
    report = json.loads(stdout)
    rows = dc.read_rows(out)
    assert sorted(set(rows.k)) == [1, 4, 16, 64] and (rows.method == "DAS").all() and "isolate" not in rows.columns
    # the choice is choose_das on the CSV's rows and the pairs the JSON names
    choice = choose_das(rows, report["pairs"])
    assert {key: report["chosen"][key] for key in ("layer", "k", "best_k", "minus_best")} == \
        {key: choice[key] for key in ("layer", "k", "best_k", "minus_best")}
    assert report["rule"].startswith("smallest k whose validation Cause minus the best k's")
    assert report["chosen"]["lr"] == dc.course_settings()["lr"]  # the defaults: the course's settings


def test_select_refuses_bad_lists_before_loading_the_model(tmp_path, run_cli):
    code, stdout, stderr = run_cli("select", "--layers", "8,x", "--out", tmp_path / "s.csv")
    assert_one_line_error(code, stdout, stderr, "--layers '8,x': give comma-separated integers")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["train", "select"])
def test_too_few_known_entities_are_reported_about_the_users_table(tmp_path, command, run_cli):
    table = tmp_path / "countries.csv"
    table.write_text(COUNTRIES)  # 4 countries, 2 of them the prompt's solved examples
    code, stdout, stderr = run_cli(command, "--entities", table, "--attribute", "capital", "--out", tmp_path / "o",
                                   *(["--layer", 3, "--k", 4] if command == "train" else []))
    assert_one_line_error(code, stdout, stderr, f"of {table}")
    assert "The model knows the 'capital' of only" in stderr and "make_pairs" not in stderr


def test_a_file_that_is_not_utf8_is_named(tmp_path, run_cli):
    table = tmp_path / "städte.csv"
    table.write_bytes("city,country\nKöln,Germany\nWien,Austria\n".encode("latin-1"))
    code, stdout, stderr = run_cli("train", "--entities", table, "--layer", 3, "--k", 4, "--out", tmp_path / "r.pt")
    assert_one_line_error(code, stdout, stderr, f"{table} is not UTF-8 text")


def test_evaluate_scores_new_entities_and_leaves_out_the_trained_ones(model, tmp_path, run_cli):
    cities = dc.load_cities()
    trained, new = list(cities.city[:40]), cities.iloc[40:100]
    path = tmp_path / "rot.pt"
    save_intervention(path, RotatedSubspace(576, 8), model=dc.DEFAULT_MODEL, layer=8, attribute="country",
                  templates={"country": dc.TEMPLATES["country"][0]}, split={"train": trained, "held_out": []})
    table = tmp_path / "new.csv"
    pd.concat([cities.iloc[:10], new]).to_csv(table, index=False)  # 10 trained cities, 60 new ones
    code, stdout, stderr = run_cli("evaluate", "--rotation", path, "--entities", table, "--split", "all", "--pairs", 64)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["excluded_trained"] == 10 and report["n_entities"] == 60
    # Cause counts every new city whose country the model knows, whatever it knows of the other columns.
    assert report["n_entities_known"] == len(dc.known_facts(model, "country", table=new))
    assert report["n_entities_known"] > len(dc.known_facts(model, ["country", "continent", "language"], table=new))
    lo, hi = report["cause_ci"]
    assert lo <= report["cause"] <= hi and set(report["isolate_ci"]) == {"continent", "language"}
    assert report["few_pairs"] == bool(report["few_pairs_for"])
    assert report["n_pairs"] == 64 and "cause" not in report["few_pairs_for"]

    code, stdout, stderr = run_cli("evaluate", "--rotation", path, "--entities", table)  # held-out: none of them
    assert_one_line_error(code, stdout, stderr, "--split all")
