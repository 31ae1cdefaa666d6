import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import dascourse as dc

from dascourse.cli import control_warnings, score_table_text
from dascourse.entities import MIN_TRAIN_ENTITIES, known_rows, load_entities, template_for
from dascourse.interventions import RotatedSubspace
from dascourse.storage import load_intervention, save_intervention

COUNTRIES = "country,capital\nFrance,Paris\nJapan,Tokyo\nItaly,Rome\nEgypt,Cairo\n"


def run_cli(*args):
    """python -m dascourse ARGS in a subprocess, offline: (exit status, stdout, stderr)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "dascourse", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=900)
    return done.returncode, done.stdout, done.stderr


def assert_one_line_error(code, stdout, stderr, phrase):
    assert code == 2 and stdout == ""
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and phrase in last, stderr


def test_train_then_evaluate_on_the_city_table(model, tmp_path):
    # Every fourth city (107 of 425) keeps the test quick; evaluate then reads the whole shipped table.
    cities = tmp_path / "cities.csv"
    table = dc.load_cities().iloc[::4]
    table.to_csv(cities, index=False)
    out = tmp_path / "rot.pt"
    code, stdout, stderr = run_cli("train", "--entities", cities, "--layer", 12, "--k", 8, "--steps", 2, "--out", out)
    assert code == 0, stderr
    summary = json.loads(stdout)
    facts = dc.known_facts(model, "country", table=dc.load_cities(cities))
    assert summary["skipped_unknown"] == {"country": len(table) - len(facts)}
    assert "DAS layer 12, k=8" in stderr  # the progress bar goes to stderr, the JSON alone to stdout
    assert "warning" not in stderr  # 57 training entities: no fewer than dascourse.entities.MIN_TRAIN_ENTITIES

    # The command line trains exactly what the library does, with the course's settings by default
    # (dc.TrainSettings.course(): chapter 5's lr and batch): the same R_k, bit for bit.
    rotation, metadata = load_intervention(out, model=model, layer=12)
    train, test, unseen = dc.split_by_city(facts, 0.2, seed=0)
    expected, _ = dc.train_das(model, dc.make_pairs(model, train), 12, 8,
                               settings=dc.TrainSettings.course(steps=2, seed=0, progress=False))
    assert torch.equal(rotation.R_k, expected.R_k)
    assert metadata["split"]["held_out"] == [*test.city, *unseen.city]
    assert metadata["templates"]["country"] == dc.TEMPLATES["country"][0]

    code, stdout, stderr = run_cli("evaluate", "--rotation", out, "--pairs", 16)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["split"] == "held-out entities" and report["n_entities"] == len(test) + len(unseen)
    assert set(report["skipped_unknown"]) == {"country", "continent", "language"}
    assert set(report["isolate"]) == {"continent", "language", "mean"} and 0 < report["n_pairs"] <= 16
    assert 0 <= report["cause"] <= 1 and report["disentangle"] == pytest.approx(
        (report["cause"] + report["isolate"]["mean"]) / 2, abs=1e-3)
    assert report["cause_ci"][0] <= report["cause"] <= report["cause_ci"][1]  # 95% interval over entities
    assert report["disentangle_ci"][0] <= report["disentangle"] <= report["disentangle_ci"][1]
    assert report["split_seed"] == 0

    # The controls, on the same pairs: full patching and a seeded random subspace of the rotation's k, each
    # with its scores and the rotation minus it (a paired interval that holds the difference).
    assert set(report["controls"]) == {"full_patch", "random_subspace"} and report["controls"]["random_subspace"]["seed"] == 0
    for control in report["controls"].values():
        assert control["n_pairs"] == report["n_pairs"] and control["n_isolate"] == report["n_isolate"]
        minus = control["rotation_minus_control"]
        for score, diff in [("cause", minus["cause"]), ("disentangle", minus["disentangle"])]:
            assert diff[0] == pytest.approx(report[score] - control[score], abs=2e-4)
            assert diff[1] <= diff[0] <= diff[2]
        for a in ("continent", "language"):
            assert minus["isolate"][a][0] == pytest.approx(report["isolate"][a] - control["isolate"][a], abs=2e-4)
    assert report["controls"]["full_patch"]["cause"] >= 0.5  # h' = h_source moves the country on most pairs
    assert not any("hidden size" in w for w in report["warnings"])  # k = 8 of 576
    assert "rotation - full patching" in stderr and "random subspace (k=8)" in stderr  # the table, on stderr
    assert all(f"warning: {w}" in stderr for w in report["warnings"])

    # --seed seeds R_k's start and the batches, --split-seed the held-out entities (default 0, as select's).
    other = tmp_path / "rot_seed1.pt"
    code, stdout, stderr = run_cli("train", "--entities", cities, "--layer", 12, "--k", 8, "--steps", 2, "--seed", 1,
                                   "--out", other)
    assert code == 0, stderr
    assert json.loads(stdout)["split_seed"] == 0 and json.loads(stdout)["seed"] == 1
    rotation_1, metadata_1 = load_intervention(other)
    assert metadata_1["split"] == metadata["split"] and metadata_1["seed"] == 1
    assert not torch.equal(rotation_1.R_k, rotation.R_k)
    code, stdout, stderr = run_cli("train", "--entities", cities, "--layer", 12, "--k", 8, "--steps", 2, "--seed", 1,
                                   "--split-seed", 1, "--out", other)
    assert code == 0, stderr
    _, metadata_1 = load_intervention(other)
    _, test_1, unseen_1 = dc.split_by_city(facts, 0.2, seed=1)
    assert metadata_1["split"]["seed"] == 1 and metadata_1["split"]["held_out"] == [*test_1.city, *unseen_1.city]
    assert metadata_1["split"]["held_out"] != metadata["split"]["held_out"]


def _fake_result(correct, pairs, kept=("continent",)):
    """A rotation_scores-like result from 0/1 hits per pair set (names "cause" and the kept attributes)."""
    means = {name: float(np.mean(correct[name])) for name in correct}
    isolate = {a: means[a] for a in kept}
    isolate["mean"] = float(np.mean([means[a] for a in kept]))
    disentangle = (means["cause"] + isolate["mean"]) / 2
    scored = {name: pairs for name in correct}
    return {"cause": means["cause"], "cause_ci": dc.entity_interval(correct["cause"], pairs.base, pairs.source),
            "isolate": isolate, "isolate_ci": {a: dc.entity_interval(correct[a], pairs.base, pairs.source) for a in kept},
            "disentangle": disentangle, "disentangle_ci": dc.disentangle_interval(
                (correct["cause"], pairs.base, pairs.source), {a: (correct[a], pairs.base, pairs.source) for a in kept}),
            "n_entities_scored": {name: 30 for name in correct}, "scored": scored, "correct": correct}


def _synthetic_pairs(n=200, n_entities=30, seed=0):
    rng = np.random.default_rng(seed)
    names = np.array([f"e{i}" for i in range(n_entities)])
    return pd.DataFrame({"base": rng.choice(names, n), "source": rng.choice(names, n)}), rng


def test_disentangle_interval_and_paired_differences_on_synthetic_pairs():
    pairs, rng = _synthetic_pairs()
    good = {"cause": rng.random(200) < 0.8, "continent": rng.random(200) < 0.7}
    full = {"cause": rng.random(200) < 0.9, "continent": rng.random(200) < 0.1}
    a, b = _fake_result(good, pairs), _fake_result(full, pairs)
    lo, hi = a["disentangle_ci"]
    assert lo < a["disentangle"] < hi and hi - lo < 0.3
    minus = dc.score_differences(a, b)
    assert minus["disentangle"][0] == pytest.approx(a["disentangle"] - b["disentangle"])
    assert 0 < minus["disentangle"][1] < minus["disentangle"][0] < minus["disentangle"][2]  # Isolate 0.7 vs 0.1
    assert minus["cause"][0] == pytest.approx(a["cause"] - b["cause"])
    assert dc.score_differences(a, a)["disentangle"] == (0.0, 0.0, 0.0)
    shuffled = _fake_result(full, pairs.sample(frac=1, random_state=0))
    with pytest.raises(ValueError, match="not scored on the same cause pairs"):
        dc.score_differences(a, shuffled)
    with pytest.raises(ValueError, match="at least one kept attribute"):
        dc.disentangle_interval((good["cause"], pairs.base, pairs.source), {})


def test_disentangle_interval_covers_a_known_disentangle():
    # Entity effects shared by Cause and Isolate pairs (a hard entity is hard for both); true Disentangle 0.6.
    covered = 0
    for draw in range(100):
        pairs, rng = _synthetic_pairs(seed=draw)
        effect = {e: rng.normal(0, 0.1) for e in set(pairs.base) | set(pairs.source)}
        shift = pairs.base.map(effect).to_numpy() + pairs.source.map(effect).to_numpy()
        cause = rng.random(200) < np.clip(0.5 + shift, 0, 1)
        isolate = rng.random(200) < np.clip(0.7 + shift, 0, 1)
        lo, hi = dc.disentangle_interval((cause, pairs.base, pairs.source), {"a": (isolate, pairs.base, pairs.source)})
        covered += lo <= 0.6 <= hi
    assert covered >= 93


def test_warnings_name_a_large_k_and_a_disentangle_no_better_than_full_patching():
    pairs, rng = _synthetic_pairs()
    same = {"cause": rng.random(200) < 0.9, "continent": rng.random(200) < 0.1}
    rotation, full = _fake_result(same, pairs), _fake_result(same, pairs)
    full["rotation_minus_control"] = dc.score_differences(rotation, full)
    warnings = control_warnings(256, 576, rotation, full, "country")
    assert len(warnings) == 3
    assert "k = 256 is 44% of the hidden size d = 576 (above 1/4)" in warnings[0]
    assert "does not beat full patching's" in warnings[1] and "is not above 0.5" in warnings[2]
    good = _fake_result({"cause": rng.random(200) < 0.9, "continent": rng.random(200) < 0.9}, pairs)
    full["rotation_minus_control"] = dc.score_differences(good, full)
    assert control_warnings(16, 576, good, full, "country") == []
    table = score_table_text(good, {"full_patch": full, "random_subspace": full}, 16)
    assert table.splitlines()[0].split() == ["Cause", "Isolate", "continent", "Disentangle"]
    assert table.splitlines()[1].startswith("rotation (k=16)") and len(table.splitlines()) == 6


def test_train_warns_below_the_minimum_number_of_entities(tmp_path):
    cities = tmp_path / "few.csv"
    dc.load_cities().iloc[::12].to_csv(cities, index=False)  # 36 rows: fewer than 40 known training entities
    code, stdout, stderr = run_cli("train", "--entities", cities, "--layer", 4, "--k", 4, "--steps", 1,
                                   "--out", tmp_path / "rot.pt")
    assert code == 0, stderr
    n_train = json.loads(stdout)["n_train_entities"]
    assert n_train < MIN_TRAIN_ENTITIES
    assert f"warning: {n_train} training entities from {cities}; below {MIN_TRAIN_ENTITIES}" in stderr


@pytest.mark.parametrize("case", ["empty file", "attribute not a column", "missing keep column"])
def test_train_refuses_bad_tables_and_writes_nothing(tmp_path, case):
    table = tmp_path / "table.csv"
    table.write_text("" if case == "empty file" else COUNTRIES)
    args = {"attribute not a column": ["--attribute", "ceo"], "missing keep column": ["--keep", "continent"]}
    code, stdout, stderr = run_cli("train", "--entities", table, "--layer", 3, "--k", 4, "--out", tmp_path / "rot.pt",
                                   "--attribute", "capital", *args.get(case, []))
    phrase = {"empty file": "is empty", "attribute not a column": "no column 'ceo'",
              "missing keep column": "no column 'continent'"}[case]
    assert_one_line_error(code, stdout, stderr, phrase)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]  # no rotation, not even a partial one


def test_evaluate_refuses_a_rotation_for_another_model(tmp_path):
    path = tmp_path / "rot.pt"
    save_intervention(path, RotatedSubspace(576, 4), model="meta-llama/Llama-3.2-1B", layer=3, attribute="country",
                  templates={}, split={"held_out": ["Paris"], "train": []})
    code, stdout, stderr = run_cli("evaluate", "--rotation", path, "--model", dc.DEFAULT_MODEL)
    assert_one_line_error(code, stdout, stderr, f"model 'meta-llama/Llama-3.2-1B', not '{dc.DEFAULT_MODEL}'")


def test_evaluate_refuses_a_rotation_for_another_hidden_size(tmp_path):
    path = tmp_path / "rot.pt"
    save_intervention(path, RotatedSubspace(960, 4), model=dc.DEFAULT_MODEL, layer=3, attribute="country",
                  templates={}, split={"held_out": ["Paris"], "train": []})
    code, stdout, stderr = run_cli("evaluate", "--rotation", path)
    assert_one_line_error(code, stdout, stderr, "hidden size 960, not 576")


def test_evaluate_refuses_corrupt_or_bare_rotations_and_a_table_without_its_attribute(tmp_path):
    path = tmp_path / "rot.pt"
    save_intervention(path, RotatedSubspace(576, 4), model=dc.DEFAULT_MODEL, layer=3, attribute="country",
                  templates={}, split={"held_out": ["Paris"], "train": []})
    table = tmp_path / "countries.csv"
    table.write_text(COUNTRIES)
    code, stdout, stderr = run_cli("evaluate", "--rotation", path, "--entities", table)
    assert_one_line_error(code, stdout, stderr, "has no column 'country'")  # countries.csv's entity is `country`
    path.write_bytes(path.read_bytes()[:1000])
    code, stdout, stderr = run_cli("evaluate", "--rotation", path)
    assert_one_line_error(code, stdout, stderr, "corrupt or truncated")
    save_intervention(path, RotatedSubspace(576, 4), model=dc.DEFAULT_MODEL, layer=3)  # saved from Python, bare
    code, stdout, stderr = run_cli("evaluate", "--rotation", path)
    assert_one_line_error(code, stdout, stderr, "lacks the metadata ['attribute', 'templates', 'split']")


def test_entity_table_with_an_attribute_dascourse_has_no_template_for(model, tmp_path):
    table = tmp_path / "countries.csv"
    table.write_text(COUNTRIES)
    countries = load_entities(table)
    assert list(countries.columns) == ["city", "capital"]  # the entity column is `city` for every helper
    template = template_for(countries, "capital")
    assert template == "The capital of France is Paris. The capital of Japan is Tokyo. The capital of {city} is"
    assert template_for(load_entities(), "country") == dc.TEMPLATES["country"][0]  # the chapters' prompt
    rows, skipped = known_rows(model, countries, "capital", template={"capital": template})
    with pytest.raises(TypeError):
        dc.TEMPLATES["capital"] = (template,)  # read-only: no cell can change what a later one asks
    with pytest.raises(ValueError, match="Unknown attribute 'capital'"):
        dc.make_prompt("Italy", "capital")  # the template is passed where it is used, never kept
    assert set(rows.city) <= {"Italy", "Egypt"}  # France and Japan are the template's solved examples
    assert skipped == {"capital": 4 - len(rows)}


@pytest.mark.parametrize("content, phrase", [
    ("company\nAcme\n", "add attribute columns"),
    ("company,ceo\nAcme,Ann\nAcme,Bob\n", "'Acme' is empty or repeated"),
    ("company,ceo\nAcme,Ann\nBolt,Ann\n", "at least two different values"),
])
def test_bad_entity_tables_name_the_problem(tmp_path, content, phrase):
    table = tmp_path / "t.csv"
    table.write_text(content)
    with pytest.raises(ValueError, match=phrase):
        template_for(load_entities(table), "ceo")
