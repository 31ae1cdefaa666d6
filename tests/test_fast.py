import pytest
import torch

import dascourse as dc
from dascourse.prefix_cache import PrefixCache

CITIES = ["Paris", "Rio de Janeiro", "São Paulo", "Lyon", "Kuala Lumpur", "Osaka"]


@pytest.fixture(scope="module", params=["one template", "mixed templates"])
def setup(model, request):
    # One template: the few-shot examples every prompt opens with run once, the cities' first tokens on top.
    # Mixed templates: no common start, and suffixes of different lengths.
    prompts = [dc.make_prompt(c, "country", i % 3 if request.param == "mixed templates" else 0)
               for i, c in enumerate(CITIES)]
    cache = PrefixCache(model, prompts, CITIES, batch_size=4)
    h_source = dc.hidden_at_city(model, [dc.make_prompt("Cairo")] * 3, ["Cairo"] * 3, 8)
    return prompts, cache, h_source


# The first, a middle and the last layer with a layer above it. Gradient tolerance: float32 rounding only
# (the two runs add up attention in different orders); 1e-4 like the bench, a little more at layer 28,
# where a smaller gradient crosses fewer layers (1.2e-4 measured).
@pytest.mark.parametrize("layer, grad_tol", [(0, 1e-4), (8, 1e-4), (28, 3e-4)])
def test_same_logits_and_gradients_as_the_full_run(model, setup, layer, grad_tol):
    prompts, cache, h_source = setup
    w = torch.nn.Parameter(torch.full((model.config.hidden_size,), 0.7))
    rows = [4, 1, 0]

    def swap(h_base):
        return h_base + w * (h_source - h_base)

    full = dc.patch(model, [prompts[r] for r in rows], [CITIES[r] for r in rows], layer, swap)
    fast = cache.patch(rows, layer, swap)
    assert (full - fast).abs().max() < 1e-3
    assert (full.argmax(-1) == fast.argmax(-1)).all()
    (g_full,) = torch.autograd.grad(full.logsumexp(-1).sum(), w)
    (g_fast,) = torch.autograd.grad(fast.logsumexp(-1).sum(), w)
    assert (g_full - g_fast).norm() / g_full.norm() < grad_tol


def test_rows_at_different_layers_equal_one_layer_at_a_time(setup):
    # A layer sweep stacks its runs: each row is patched at its own layer and joins the batch above it,
    # in any order (the last layer, 29, has no block above it).
    _, cache, h_source = setup
    w = torch.nn.Parameter(torch.full((h_source.shape[-1],), 0.7))
    rows, layers = [4, 1, 0, 1, 2], [8, 0, 29, 8, 0]

    def swap(h_base):
        return h_base + w * (h_source[:1] - h_base)

    stacked = cache.patch(rows, layers, swap)
    alone = torch.cat([cache.patch([r], L, swap) for r, L in zip(rows, layers)])
    assert (stacked - alone).abs().max() < 1e-4
    (g_stacked,) = torch.autograd.grad(stacked.logsumexp(-1).sum(), w)
    (g_alone,) = torch.autograd.grad(alone.logsumexp(-1).sum(), w)
    assert (g_stacked - g_alone).norm() / g_alone.norm() < 1e-4


def test_unpatched_answers_are_the_models(model, setup):
    prompts, cache, _ = setup
    logits = cache.patch(range(len(CITIES)), 8, lambda h_base: h_base)
    assert torch.equal(logits.argmax(-1), dc.next_token_logits(model, prompts).argmax(-1))


def test_bad_layer(setup):
    _, cache, _ = setup
    with pytest.raises(ValueError, match="out of range"):
        cache.patch([0], 30, lambda h_base: h_base)


def test_refuses_a_model_it_does_not_reproduce(model):
    # A model whose own forward pass does something the layer-by-layer run does not (here: scales the
    # final hidden state) must be refused on first use, not patched wrongly.
    def scale(module, args, out):
        out.last_hidden_state = 2 * out.last_hidden_state
        return out

    hook = model._module.model.register_forward_hook(scale)
    try:
        cache = PrefixCache(model, [dc.make_prompt("Paris")], ["Paris"])
        with pytest.raises(NotImplementedError, match="does not reproduce"):
            cache.patch([0], 8, lambda h_base: h_base)
    finally:
        hook.remove()
