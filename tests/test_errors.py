"""Issue #7: bad input to the public helpers gets one clear error naming the problem and the fix.

One test per kind of bad input, run through every public helper where a learner meets it. Each asserts
the message (a key phrase of the problem, and of the fix where there is one), not just the type.
Rotation files and the command line have their own tests (test_rotation_file.py, the CLI's).
"""
import numpy as np
import pandas as pd
import pytest
import torch

import dascourse as dc
from dascourse import neurons, sweep
from dascourse.prefix_cache import PrefixCache
from dascourse.interventions import RotatedSubspace

PARIS, RIO = dc.make_prompt("Paris"), dc.make_prompt("Rio de Janeiro")
PAIRS = pd.DataFrame({"base": ["Paris"], "source": ["Rio de Janeiro"],
                      "base_country": ["France"], "source_country": ["Brazil"]})


@pytest.mark.parametrize("call", [
    lambda m: dc.make_prompt("Paris", "population"),
    lambda m: dc.known_facts(m, ["country", "population"]),
    lambda m: dc.source_states(m, ["Paris"], 8, attribute="population"),
    lambda m: dc.patch_pairs(m, PAIRS, 8, lambda h_base, h_source: h_source, attribute="population"),
])
def test_unknown_attribute(model, call):
    with pytest.raises(ValueError, match="Unknown attribute 'population': choose one of country, continent"):
        call(model)


@pytest.mark.parametrize("call", [
    lambda m: dc.city_positions(m.tokenizer, [PARIS], ["Lyon"]),
    lambda m: dc.hidden_at_city(m, [PARIS], ["Lyon"], 8),
    lambda m: dc.patch(m, [PARIS], ["Lyon"], 8, lambda h_base: h_base),
    lambda m: PrefixCache(m, [PARIS], ["Lyon"]),
])
def test_city_not_in_its_prompt(model, call):
    with pytest.raises(ValueError, match=r"'Lyon' does not occur in prompt .* the city it asks about"):
        call(model)


@pytest.mark.parametrize("call", [
    lambda m: dc.make_prompt("Paris", "country", "Paris is in the country of"),
    lambda m: dc.known_facts(m, "country", template="Paris is in the country of"),
])
def test_template_without_placeholder(model, call):
    with pytest.raises(ValueError, match=r"has no \{city\} placeholder; write e.g."):
        call(model)


def test_multi_token_answer_says_so_and_first_token_only_when_asked(model):
    with pytest.raises(ValueError, match=r"'South Korea' is 2 tokens .* pass first_token_only=True"):
        dc.answer_token(model.tokenizer, "South Korea")
    south = dc.answer_token(model.tokenizer, "South Korea", first_token_only=True)
    assert model.tokenizer.decode(south) == " South"


@pytest.mark.parametrize("layer", [30, -1, 2.0, "8"])
@pytest.mark.parametrize("call", [
    lambda m, layer: dc.hidden_at_city(m, [PARIS], ["Paris"], layer),
    lambda m, layer: dc.patch(m, [PARIS], ["Paris"], layer, lambda h_base: h_base),
    lambda m, layer: PrefixCache(m, [PARIS], ["Paris"]).patch([0], layer, lambda h_base: h_base),
    lambda m, layer: sweep.hidden_from_end(m, [PARIS], [layer], [-1]),
    lambda m, layer: neurons.logit_diff_grad(m, [PARIS], ["Paris"], layer, [0], [1]),
    lambda m, layer: dc.patch_pairs(m, PAIRS, layer, lambda h_base, h_source: h_source),
    lambda m, layer: dc.train_das(m, PAIRS, layer, k=4, steps=1),
])
def test_layer_out_of_range(model, call, layer):
    with pytest.raises(ValueError, match=rf"layer={layer!r} is out of range: this model has layers 0..29"):
        call(model, layer)


def test_numpy_layer_is_a_layer(model):
    # np.arange(0, 30, 3) is a natural way to loop over layers: its numbers must not be "out of range".
    h = dc.hidden_at_city(model, [PARIS], ["Paris"], np.int64(8))
    assert torch.equal(h, dc.hidden_at_city(model, [PARIS], ["Paris"], 8))


@pytest.mark.parametrize("k", [0, -3, 577, 4.0])
@pytest.mark.parametrize("call", [
    lambda m, k: RotatedSubspace(576, k),
    lambda m, k: dc.top_k_mask(torch.arange(576), k),
    lambda m, k: dc.random_masks(2, 576, k),
    lambda m, k: dc.train_das(m, PAIRS, 8, k, steps=1),
])
def test_k_out_of_range(model, call, k):
    with pytest.raises(ValueError, match=rf"k={k!r} is out of range: .*1 .*576"):
        call(model, k)


@pytest.mark.parametrize("call, message", [
    (lambda m: dc.city_positions(m.tokenizer, [PARIS, RIO], ["Paris"]), "2 prompts but 1 cities"),
    (lambda m: dc.patch(m, [PARIS], ["Paris", "Rio de Janeiro"], 8, lambda h_base: h_base), "1 prompts but 2 cities"),
    # Two source states for one base prompt: the patch cannot be written back.
    (lambda m: dc.patch(m, [PARIS], ["Paris"], 8, lambda h_base: torch.zeros(2, 576)),
     r"returned shape \(2, 576\) for h_base of shape \(1, 576\).*as many source states"),
    (lambda m: sweep.position_sweep(m, [PARIS, PARIS], [RIO], [8], [-1], [[0], [1]]),
     "2 base prompts but 1 source prompts"),
    (lambda m: neurons.logit_diff_grad(m, [PARIS], ["Paris"], 8, [0, 1], [2]),
     "1 prompts, 2 source_ids and 1 base_ids"),
    (lambda m: dc.neuron_patch(torch.zeros(2, 576), torch.zeros(3, 576), torch.ones(576)), "but h_source"),
    (lambda m: RotatedSubspace(576, 4)(torch.zeros(2, 576), torch.zeros(3, 576)), "must have the same shape"),
    (lambda m: dc.iia(torch.zeros(2, 10), torch.tensor([1, 2, 3])), "2 rows of logits but 3 targets"),
])
def test_source_and_base_of_different_lengths(model, call, message):
    with pytest.raises(ValueError, match=message):
        call(model)


@pytest.mark.parametrize("call, message", [
    (lambda m: dc.make_pairs(m, pd.DataFrame(columns=["city", "country"])), "at least one base city"),
    (lambda m: dc.patch_pairs(m, PAIRS.iloc[:0], 8, lambda h_base, h_source: h_source), "No pairs"),
    (lambda m: dc.train_das(m, PAIRS.iloc[:0], 8, k=4), "No training pairs"),
    (lambda m: dc.iia(torch.zeros(0, 10), torch.zeros(0)), "No rows"),
    (lambda m: dc.patch(m, [], [], 8, lambda h_base: h_base), "No prompts given"),
    (lambda m: dc.next_token_logits(m, []), "No prompts given"),
])
def test_empty_pair_set(model, call, message):
    with pytest.raises(ValueError, match=message):
        call(model)


def test_model_that_cannot_be_loaded_offline_says_what_to_do():
    with pytest.raises(dc.ModelUnavailableError, match="Could not load model 'some/unknown-model'") as err:
        dc.load_model("some/unknown-model")
    # conftest.py sets HF_HUB_OFFLINE=1: the message names it, and the two ways out.
    assert "HF_HUB_OFFLINE=1 is set" in str(err.value)
    assert "use the default model: load_model()" in str(err.value)
    assert "once with a network and without HF_HUB_OFFLINE" in str(err.value)
