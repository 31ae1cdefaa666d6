"""diagnostics.answer_origins / answer_origins_after on known answers (no model: a stub and a fake patch)."""
import pandas as pd
import pytest
import torch

from dascourse import diagnostics
from tests.stub_model import StubModel


def test_shares_count_base_source_and_neither_on_pairs_that_differ():
    patched = [1, 2, 3, 1, 5]
    base_ids, source_ids = [1, 1, 1, 1, 5], [2, 2, 2, 3, 5]  # the last pair: base == source, left out
    base, source = ["a", "b", "c", "d", "e"], ["b", "c", "d", "a", "e"]
    report = diagnostics.answer_origins(patched, base_ids, source_ids, base, source)
    assert report["n_pairs"] == 4
    assert report["base"] == 0.5 and report["source"] == 0.25 and report["neither"] == 0.25
    assert report["base"] + report["source"] + report["neither"] == pytest.approx(1)
    for name in ("base", "source", "neither"):
        lo, hi = report[f"{name}_ci"]
        assert 0 <= lo <= report[name] <= hi <= 1


def test_no_pair_that_differs_names_the_fix():
    with pytest.raises(ValueError, match="isolate_pairs"):
        diagnostics.answer_origins([1], [1], [1], ["a"], ["b"])
    with pytest.raises(ValueError, match="One entry per pair"):
        diagnostics.answer_origins([1, 2], [1], [1], ["a"], ["b"])


def test_after_a_swap_reads_the_patched_top_answer(monkeypatch):
    model = StubModel()
    pairs = pd.DataFrame({"base": ["Paris", "Lyon", "Cairo"], "source": ["Rio", "Cairo", "Lyon"],
                          "base_continent": ["Europe", "Europe", "Africa"],
                          "source_continent": ["South America", "Africa", "Europe"]})
    ids = {w: model.tokenizer(" " + w)["input_ids"][0] for w in ("Europe", "South", "Africa", "Asia")}
    answers = [ids["South"], ids["Europe"], ids["Asia"]]  # follows the source, stays the base, neither

    def fake_patch(model_, pairs_, layer, swap, attribute, states=None):
        assert attribute == "continent" and list(pairs_.base) == ["Paris", "Lyon", "Cairo"]
        logits = torch.zeros(len(pairs_), 50)
        logits[range(len(pairs_)), answers] = 1
        return logits

    monkeypatch.setattr("dascourse.pairs.patch_pairs", fake_patch)
    report = diagnostics.answer_origins_after(model, pairs, 12, swap=None)
    assert report["n_pairs"] == 3
    assert [report[n] for n in ("base", "source", "neither")] == pytest.approx([1 / 3] * 3)
