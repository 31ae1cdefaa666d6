"""Chapters 1-2: the position sweep, the neuron helpers, and the exercise checks (right passes, wrong fails)."""
import matplotlib

matplotlib.use("Agg")

import pytest
import torch

import dascourse as dc
from dascourse.checks import CheckFailed
from dascourse.checks.residual import check_logit_diff_share, check_patch_outcome
from dascourse.checks.neurons import check_neuron_patch, check_rank_neurons
from dascourse.plots import layer_position_heatmap
from dascourse.sweep import check_positions, hidden_from_end, patch_from_end, position_sweep

PARIS, RIO = dc.make_prompt("Paris"), dc.make_prompt("Rio de Janeiro")
LAYER = 8


@pytest.fixture(scope="module")
def rio_state(model):
    return dc.hidden_at_city(model, [RIO], ["Rio de Janeiro"], LAYER)


@pytest.fixture(scope="module")
def france_brazil(model):
    return torch.tensor([dc.answer_token(model.tokenizer, a) for a in ("France", "Brazil")])


# --- dascourse.sweep ---------------------------------------------------------------------------------

def test_hidden_from_end_matches_hidden_at_city(model, rio_state):
    # Position -6 is the city's last token in every country prompt (" is in the country of" follows).
    h = hidden_from_end(model, [PARIS, RIO], [2, LAYER], [-6, -1])
    assert h.shape == (2, 2, 2, model.config.hidden_size)
    assert torch.allclose(h[1, 1, 0], rio_state[0], atol=1e-3)


def test_patch_from_end_matches_dc_patch(model, rio_state):
    ours = patch_from_end(model, [PARIS], LAYER, [-6], rio_state)
    theirs = dc.patch(model, [PARIS], ["Paris"], LAYER, lambda h_base: rio_state)
    assert torch.allclose(ours, theirs, atol=1e-3)


def test_position_sweep(model, rio_state, france_brazil):
    logp = position_sweep(model, [PARIS], [RIO], [LAYER], [-6, -5], [france_brazil])
    assert logp.shape == (1, 1, 2, 2)
    expected = dc.patch(model, [PARIS], ["Paris"], LAYER, lambda h_base: rio_state).log_softmax(-1)[0, france_brazil]
    assert torch.allclose(logp[0, 0, 0], expected, atol=1e-3)
    assert logp[0, 0, 0, 1].exp() > 0.9  # city's last token at layer 8: Paris -> Brazil
    assert logp[0, 0, 1, 1].exp() < 0.1  # " is" carries no country


def test_sweep_bad_input(model, france_brazil):
    with pytest.raises(ValueError, match="out of range"):
        check_positions(model, [PARIS], [0])
    with pytest.raises(ValueError, match="out of range"):
        check_positions(model, [PARIS], [-100])
    with pytest.raises(ValueError, match="No prompts"):
        check_positions(model, [], [-1])
    with pytest.raises(ValueError, match="increasing order"):
        hidden_from_end(model, [PARIS], [8, 2], [-1])
    with pytest.raises(ValueError, match="out of range"):
        hidden_from_end(model, [PARIS], [99], [-1])
    with pytest.raises(ValueError, match="pairs"):
        position_sweep(model, [PARIS], [RIO, RIO], [LAYER], [-1], [france_brazil])
    with pytest.raises(ValueError, match="one row per pair"):
        position_sweep(model, [PARIS], [RIO], [LAYER], [-1], [france_brazil, france_brazil])
    with pytest.raises(ValueError, match="one of each per prompt"):
        patch_from_end(model, [PARIS], LAYER, [-1], torch.zeros(2, model.config.hidden_size))


def test_heatmap_draws():
    ax = layer_position_heatmap(torch.rand(3, 2), [0, 1, 2], ["a", "b"], "title")
    assert ax.get_title() == "title"


# --- dascourse.neurons -------------------------------------------------------------------------------

def test_neuron_patch_and_masks():
    h_base, h_source = torch.zeros(3, 5), torch.ones(3, 5)
    assert torch.equal(dc.neuron_patch(h_base, h_source, torch.ones(5)), h_source)
    mask = dc.top_k_mask(torch.tensor([4, 0, 1, 2, 3]), 2)
    assert mask.tolist() == [1, 0, 0, 0, 1]
    masks = dc.random_masks(3, 5, 2, seed=1)
    assert masks.shape == (3, 5) and masks.sum(1).tolist() == [2, 2, 2]
    assert torch.equal(masks, dc.random_masks(3, 5, 2, seed=1))
    assert torch.equal(dc.neuron_patch(h_base, h_source, masks), masks)
    with pytest.raises(ValueError, match="shape"):
        dc.neuron_patch(h_base, torch.ones(2, 5), mask)
    with pytest.raises(ValueError, match="neurons"):
        dc.neuron_patch(h_base, h_source, torch.ones(4))
    for k in (0, 6):
        with pytest.raises(ValueError, match="out of range"):
            dc.random_masks(3, 5, k)
    with pytest.raises(ValueError, match="out of range"):
        dc.top_k_mask(torch.arange(5), 0)


def test_rank_neurons():
    h_base = torch.zeros(2, 3)
    h_source = torch.tensor([[1.0, -4.0, 2.0], [1.0, -4.0, 2.0]])
    assert dc.rank_neurons(h_base, h_source).tolist() == [1, 2, 0]
    assert dc.rank_neurons(h_base, h_source, torch.ones(2, 3)).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="same shape"):
        dc.rank_neurons(h_base, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="grad"):
        dc.rank_neurons(h_base, h_source, torch.ones(3))


def test_logit_diff_grad_is_the_gradient(model, rio_state, france_brazil):
    france, brazil = france_brazil[:1], france_brazil[1:]
    grad = dc.logit_diff_grad(model, [PARIS], ["Paris"], LAYER, brazil, france)
    assert grad.shape == (1, model.config.hidden_size)

    def logit_diff(step):
        logits = dc.patch(model, [PARIS], ["Paris"], LAYER, lambda h_base: h_base + step)
        return (logits[0, brazil] - logits[0, france]).item()

    # Finite difference along the gradient: LD(h + t u) - LD(h) ~ t |grad| for a unit vector u = grad / |grad|.
    t, norm = 1e-2, grad.norm()
    slope = (logit_diff(t * grad / norm) - logit_diff(-t * grad / norm)) / (2 * t)
    assert slope == pytest.approx(norm.item(), rel=0.05)


# --- exercise checks ---------------------------------------------------------------------------------

def logit_diff_share(patched, base, source, base_ids, source_ids):
    rows = torch.arange(len(patched))
    ld = lambda logits: logits[rows, source_ids] - logits[rows, base_ids]
    return (ld(patched) - ld(base)) / (ld(source) - ld(base))


def patch_outcome(logits, base_ids, source_ids):
    top = logits.argmax(-1).tolist()
    return ["source" if t == s else "base" if t == b else "other" for t, b, s in zip(top, base_ids.tolist(), source_ids.tolist())]


def neuron_patch(h_base, h_source, mask):
    return h_base + mask * (h_source - h_base)


def rank_neurons(h_base, h_source, grad=None):
    diff = h_source - h_base
    return (diff.abs().mean(0) if grad is None else (grad * diff).mean(0)).argsort(descending=True)


def test_checks_pass_right_solutions(capsys):
    check_logit_diff_share(logit_diff_share)
    check_patch_outcome(patch_outcome)
    check_neuron_patch(neuron_patch)
    check_rank_neurons(rank_neurons)
    assert capsys.readouterr().out.count("all checks passed") == 4


def _in_place_patch(h_base, h_source, mask):
    h_base[:, mask.bool()] = h_source[:, mask.bool()] if mask.ndim == 1 else h_base[:, mask[0].bool()]
    return h_base


@pytest.mark.parametrize("check, wrong", [
    (check_logit_diff_share, lambda p, b, s, bi, si: logit_diff_share(p, b, s, bi, si).clamp(0, 1)),  # clipped
    (check_logit_diff_share, lambda p, b, s, bi, si: logit_diff_share(p.softmax(-1), b.softmax(-1), s.softmax(-1), bi, si)),
    (check_logit_diff_share, lambda p, b, s, bi, si: (p[torch.arange(len(p)), si] - p[torch.arange(len(p)), bi])
                                                      / (s[torch.arange(len(s)), si] - s[torch.arange(len(s)), bi])),
    (check_patch_outcome, lambda logits, b, s: ["source" if t == x else "base" for t, x in zip(logits.argmax(-1), s)]),
    (check_patch_outcome, lambda logits, b, s: patch_outcome(logits, s, b)),  # base and source swapped
    (check_neuron_patch, lambda hb, hs, m: hs + m * (hb - hs)),  # mask selects the base
    (check_neuron_patch, lambda hb, hs, m: hb + m[0] * (hs - hb)),  # ignores per-row masks
    (check_neuron_patch, _in_place_patch),
    (check_rank_neurons, lambda hb, hs, g=None: rank_neurons(hb, hs, None if g is None else g.abs())),
    (check_rank_neurons, lambda hb, hs, g=None: (hs - hb).abs().mean(0).argsort()),  # ascending
    (check_rank_neurons, lambda hb, hs, g=None: (hs - hb).mean(0).argsort(descending=True)),  # no abs
])
def test_checks_fail_wrong_solutions(check, wrong):
    with pytest.raises(CheckFailed):
        check(wrong)
