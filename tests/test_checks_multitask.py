"""Tests for chapter 7: multi-task DAS (train_das with keep=...) and Boundless DAS (the default model, from conftest)."""
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import dascourse as dc

from dascourse.interventions import BoundlessSubspace
from dascourse.checks import CheckFailed
from dascourse.checks.multitask import check_boundary_mask, check_mdas_loss

LAYER = 8
CITIES = ["Paris", "Rio de Janeiro", "Tokyo", "Madrid", "Cairo", "Toronto"]


@pytest.fixture(scope="module")
def pairs(model):
    facts = dc.known_facts(model, ["country", "continent", "language"])
    return dc.make_pairs(model, facts[facts.city.isin(CITIES)])


def test_isolate_pairs_skip_missing_and_same_first_token(model):
    pairs = pd.DataFrame({"base": ["A", "B", "C", "D"], "source": ["E", "F", "G", "H"],
                          "base_continent": ["Europe", "Europe", None, "North America"],
                          "source_continent": ["Asia", "Europe", "Asia", "North Africa"]})
    # B: same continent; C: base's unknown; D: " North" starts both answers. Only A can test isolation.
    assert list(dc.isolate_pairs(model, pairs, "continent").base) == ["A"]


def test_mdas_trains_and_is_seeded(model, pairs):
    kwargs = dict(steps=3, lr=5e-2, batch_size=4, seed=0, progress=False, keep=("continent", "language"))
    rotation, losses = dc.train_das(model, pairs, LAYER, 8, **kwargs)
    again, losses_again = dc.train_das(model, pairs, LAYER, 8, **kwargs)
    assert len(losses) == 3 and losses == losses_again
    assert torch.equal(rotation.R_k, again.R_k)
    plain, plain_losses = dc.train_das(model, pairs, LAYER, 8, **{**kwargs, "keep": ()})
    assert plain_losses[0] < losses[0]  # the first step's loss adds the isolate terms to the same cause term


def test_mdas_first_loss_is_cause_plus_mean_isolate(model, pairs):
    """One step with lr=0: the loss is the cause term plus the mean isolate term, computed by hand."""
    keep = ("continent", "language")
    _, losses = dc.train_das(model, pairs, LAYER, 8, steps=1, lr=0.0, batch_size=4, seed=0, progress=False, keep=keep)
    rotation, _ = dc.train_das(model, pairs, LAYER, 8, steps=0, seed=0)
    generator = torch.Generator().manual_seed(0)
    terms = []
    for attribute, rows, answer in [("country", pairs, "source_country")] + [
            (a, dc.isolate_pairs(model, pairs, a), f"base_{a}") for a in keep]:
        batch = rows.iloc[torch.randint(len(rows), (4,), generator=generator).tolist()]
        with torch.no_grad():
            logits = dc.patch_pairs(model, batch, LAYER, rotation, attribute)
        terms.append(F.cross_entropy(logits, dc.answer_ids(model, batch[answer])).item())
    assert losses[0] == pytest.approx(terms[0] + (terms[1] + terms[2]) / 2, rel=1e-3)


def test_train_das_bad_keep_errors(model, pairs):
    with pytest.raises(ValueError, match="tuple of attribute names"):
        dc.train_das(model, pairs, LAYER, 8, steps=1, keep="continent", progress=False)
    with pytest.raises(ValueError, match="other attributes"):
        dc.train_das(model, pairs, LAYER, 8, steps=1, keep=("country",), progress=False)
    with pytest.raises(ValueError, match="Unknown attribute"):
        dc.train_das(model, pairs, LAYER, 8, steps=1, keep=("colour",), progress=False)
    with pytest.raises(ValueError, match="lacks the columns"):
        dc.train_das(model, pairs.drop(columns=["base_language"]), LAYER, 8, steps=1, keep=("language",),
                      progress=False)
    same = pairs.assign(source_continent=pairs.base_continent)
    with pytest.raises(ValueError, match="nothing to keep"):
        dc.train_das(model, same, LAYER, 8, steps=1, keep=("continent",), progress=False)
    with pytest.raises(ValueError, match="k=None"):
        dc.train_das(model, pairs, LAYER, 8, steps=1, swap=BoundlessSubspace(576), progress=False)


def test_boundless_trains_through_train_das(model, pairs):
    torch.manual_seed(0)
    swap = BoundlessSubspace(model.config.hidden_size, boundary=0.25)
    start = swap.boundary.item()
    trained, losses = dc.train_das(model, pairs, LAYER, None, steps=2, lr=1e-2, batch_size=4, progress=False,
                                    swap=swap)
    assert trained is swap and len(losses) == 2
    assert swap.boundary.item() != start
    assert swap.temperature == pytest.approx(50.0 * (0.1 / 50.0) ** 0.5)  # annealed before the last step


def test_boundless_is_the_rotate_mask_rotate_back_formula():
    torch.manual_seed(0)
    d = 16
    swap = BoundlessSubspace(d, boundary=0.4, temperatures=(3.0, 0.5))
    h_base, h_source = torch.randn(5, d), torch.randn(5, d)
    R, m = swap.R.detach(), swap.mask().detach()
    assert torch.allclose(R @ R.T, torch.eye(d), atol=1e-5)
    want = (m * (h_source @ R.T) + (1 - m) * (h_base @ R.T)) @ R
    assert torch.allclose(swap(h_base, h_source), want, atol=1e-5)


def test_boundless_cold_mask_is_a_hard_k_swap():
    torch.manual_seed(0)
    d = 16
    swap = BoundlessSubspace(d, boundary=5.5 / d, temperatures=(10.0, 1e-3))
    swap.anneal(1.0)
    assert swap.temperature == pytest.approx(1e-3)
    assert swap.learnt_k == 6
    assert torch.equal(swap.mask(), torch.tensor([1.0] * 6 + [0.0] * 10))
    swap.anneal(0.0)
    assert swap.temperature == 10.0 and 0.3 < swap.mask()[8] < 0.5  # warm: a soft edge around b = 5.5
    assert swap.penalty().item() == pytest.approx(5.5 / d)


@pytest.mark.parametrize("kwargs, match", [
    (dict(boundary=0.0), "boundary"), (dict(boundary=1.5), "boundary"),
    (dict(temperatures=(0.1, 50.0)), "high to low"), (dict(temperatures=(1.0, 0.0)), "high to low"),
])
def test_boundless_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BoundlessSubspace(8, **kwargs)


def test_boundless_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        BoundlessSubspace(8)(torch.zeros(2, 8), torch.zeros(3, 8))


def mdas_loss(cause_logits, source_answers, isolate):
    loss = F.cross_entropy(cause_logits, source_answers)
    if isolate:
        loss = loss + torch.stack([F.cross_entropy(logits, base) for logits, base in isolate.values()]).mean()
    return loss


def boundary_mask(b, d, temperature):
    return torch.sigmoid((b - torch.arange(d)) / temperature)


def test_checks_pass_right_solutions():
    check_mdas_loss(mdas_loss)
    check_boundary_mask(boundary_mask)


@pytest.mark.parametrize("check, wrong", [
    (check_mdas_loss, lambda c, s, iso: F.cross_entropy(c, s) + sum(F.cross_entropy(l, b) for l, b in iso.values())),
    (check_mdas_loss, lambda c, s, iso: F.cross_entropy(c, s) - sum(F.cross_entropy(l, b) for l, b in iso.values())),
    (check_mdas_loss, lambda c, s, iso: F.cross_entropy(c, s)),
    (check_boundary_mask, lambda b, d, t: torch.sigmoid((torch.arange(d) - b) / t)),
    (check_boundary_mask, lambda b, d, t: torch.sigmoid(b - torch.arange(d))),
    (check_boundary_mask, lambda b, d, t: (torch.arange(d) < b).float()),
])
def test_checks_reject_wrong_solutions(check, wrong):
    with pytest.raises(CheckFailed):
        check(wrong)
