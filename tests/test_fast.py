import pytest
import torch

import dascourse as dc
from dascourse.fast import PrefixCache

CITIES = ["Paris", "Rio de Janeiro", "São Paulo", "Lyon", "Kuala Lumpur", "Osaka"]


@pytest.fixture(scope="module")
def setup(model):
    # Mixed templates: suffixes of different lengths must be handled too.
    prompts = [dc.make_prompt(c, "country", i % 3) for i, c in enumerate(CITIES)]
    cache = PrefixCache(model, prompts, CITIES, batch_size=4)
    h_source = dc.hidden_at_city(model, [dc.make_prompt("Cairo")] * 3, ["Cairo"] * 3, 8)
    return prompts, cache, h_source


def test_same_logits_and_gradients_as_the_full_run(model, setup):
    prompts, cache, h_source = setup
    w = torch.nn.Parameter(torch.full((model.config.hidden_size,), 0.7))
    rows = [4, 1, 0]

    def swap(h_base):
        return h_base + w * (h_source - h_base)

    full = dc.patch(model, [prompts[r] for r in rows], [CITIES[r] for r in rows], 8, swap)
    fast = cache.patch(rows, 8, swap)
    assert (full - fast).abs().max() < 1e-3
    assert (full.argmax(-1) == fast.argmax(-1)).all()
    (g_full,) = torch.autograd.grad(full.logsumexp(-1).sum(), w)
    (g_fast,) = torch.autograd.grad(fast.logsumexp(-1).sum(), w)
    assert (g_full - g_fast).norm() / g_full.norm() < 1e-4


def test_unpatched_answers_are_the_models(model, setup):
    prompts, cache, _ = setup
    logits = cache.patch(range(len(CITIES)), 8, lambda h_base: h_base)
    assert torch.equal(logits.argmax(-1), dc.next_token_logits(model, prompts).argmax(-1))


def test_bad_layer(setup):
    _, cache, _ = setup
    with pytest.raises(ValueError, match="out of range"):
        cache.patch([0], 30, lambda h_base: h_base)
