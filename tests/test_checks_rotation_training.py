"""Tests for chapters 3-5: rotated-subspace patching and DAS training (the default model, from conftest)."""
import pandas as pd
import pytest
import torch

import dascourse as dc

from dascourse.checks import CheckFailed
from dascourse.checks.rotation import check_low_rank_swap, check_rotate_swap_rotate_back
from dascourse.checks.training import check_iia, check_split_by_city
from dascourse.interventions import RotatedSubspace

LAYER = 8


@pytest.fixture(scope="module")
def cities(model):
    return dc.known_facts(model, "country")


def full_swap(h_base, h_source, R, k):
    return torch.cat([(h_source @ R.T)[..., :k], (h_base @ R.T)[..., k:]], dim=-1) @ R


def test_k_equals_d_is_full_patching(model):
    prompts, cities = [dc.make_prompt("Paris")], ["Paris"]
    h_source = dc.hidden_at_city(model, [dc.make_prompt("Rio de Janeiro")], ["Rio de Janeiro"], LAYER)
    torch.manual_seed(0)
    rotation = RotatedSubspace(model.config.hidden_size, model.config.hidden_size)
    with torch.no_grad():
        full = dc.patch(model, prompts, cities, LAYER, lambda h_base: h_source)
        rotated = dc.patch(model, prompts, cities, LAYER, lambda h_base: rotation(h_base, h_source))
    assert torch.allclose(rotated, full, atol=1e-3)
    assert full.argmax(-1).item() == dc.answer_token(model.tokenizer, "Brazil")


def test_low_rank_equals_full_swap():
    torch.manual_seed(0)
    d, k = 32, 5
    rotation = RotatedSubspace(d, k)
    R_k = rotation.R_k.detach().double()
    # Complete R_k to a full orthogonal R: the last d - k rows span the orthogonal complement.
    complement = torch.linalg.svd(torch.eye(d, dtype=torch.float64) - R_k.T @ R_k).U[:, : d - k].T
    R = torch.cat([R_k, complement])
    assert torch.allclose(R @ R.T, torch.eye(d, dtype=torch.float64), atol=1e-6)
    h_base, h_source = torch.randn(4, d, dtype=torch.float64), torch.randn(4, d, dtype=torch.float64)
    low_rank = rotation(h_base.float(), h_source.float()).double()
    assert torch.allclose(low_rank, full_swap(h_base, h_source, R, k), atol=1e-5)


@pytest.mark.parametrize("k", [0, -1, 577, 2.5])
def test_bad_k_errors(k):
    with pytest.raises(ValueError, match="k="):
        RotatedSubspace(576, k)


def test_shape_mismatch_errors():
    with pytest.raises(ValueError, match="same shape"):
        RotatedSubspace(8, 2)(torch.zeros(3, 8), torch.zeros(2, 8))


def test_split_by_city(cities):
    train, test, unseen = dc.split_by_city(cities, 0.2, seed=0)
    sides = [set(train.city), set(test.city), set(unseen.city)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert len(train) + len(test) + len(unseen) == len(cities)
    assert set(test.country) <= set(train.country)
    assert not set(unseen.country) & set(train.country)
    assert len(test) > 0


def test_split_errors(cities):
    with pytest.raises(ValueError, match="test_frac"):
        dc.split_by_city(cities, 1.5)
    with pytest.raises(ValueError, match="twice"):
        dc.split_by_city(pd.concat([cities, cities.head(1)]))


def test_make_pairs(model, cities):
    pairs = dc.make_pairs(model, cities.head(40))
    assert len(pairs) > 0
    assert (pairs.base != pairs.source).all()
    first = dc.answer_ids(model, pairs.base_country) != dc.answer_ids(model, pairs.source_country)
    assert first.all()
    assert len(dc.make_pairs(model, cities.head(40), n=10, seed=0)) == 10
    with pytest.raises(ValueError):
        dc.make_pairs(model, cities.head(0))


def test_iia_toy():
    logits = torch.tensor([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    assert dc.iia(logits, torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        dc.iia(logits, torch.tensor([1, 0]))


def test_train_das_decreases_loss(model, cities):
    pairs = dc.make_pairs(model, cities[cities.city.isin(["Paris", "Rio de Janeiro", "Tokyo", "Madrid"])])
    rotation, losses = dc.train_das(model, pairs, LAYER, k=8, steps=6, lr=5e-2, batch_size=4, seed=0, progress=False)
    assert len(losses) == 6 and isinstance(rotation, RotatedSubspace)
    assert losses[-1] < losses[0]
    again, _ = dc.train_das(model, pairs, LAYER, k=8, steps=0, seed=0, progress=False)
    fresh, _ = dc.train_das(model, pairs, LAYER, k=8, steps=0, seed=0, progress=False)
    assert torch.equal(again.R_k, fresh.R_k)  # same seed, same fresh start


@pytest.mark.parametrize("layers", [LAYER, [LAYER, 2, 20]], ids=["one layer", "a layer per run"])
def test_train_das_many_equals_separate_runs(model, cities, layers):
    # Stacking the runs' batches into one forward pass must not change what each run learns, whether the
    # runs patch one layer or each its own (rows patched at a lower layer join the batch earlier).
    pairs = dc.make_pairs(model, cities.head(12))
    runs = [(4, 0), (8, 1), (4, 2)]
    together = dc.train_das_many(model, pairs, layers, runs, steps=4, lr=1e-2, batch_size=4, progress=False)
    for layer, (k, seed), (swap, losses) in zip(layers if isinstance(layers, list) else [layers] * 3, runs, together):
        alone, alone_losses = dc.train_das(model, pairs, layer, k, 4, 1e-2, 4, seed, progress=False)
        assert swap.k == k
        assert losses == pytest.approx(alone_losses, rel=1e-4)
        torch.testing.assert_close(swap.R_k, alone.R_k, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="runs is empty"):
        dc.train_das_many(model, pairs, LAYER, [], steps=1)
    with pytest.raises(ValueError, match="one layer per run"):
        dc.train_das_many(model, pairs, [LAYER, 2], runs, steps=1)


def test_train_das_errors(model, cities):
    pairs = dc.make_pairs(model, cities.head(5))
    with pytest.raises(ValueError, match="layer"):
        dc.train_das(model, pairs, layer=99, k=4, steps=1, progress=False)
    with pytest.raises(ValueError, match="No training pairs"):
        dc.train_das(model, pairs.head(0), LAYER, k=4, steps=1, progress=False)


def rotate_swap_rotate_back(h_base, h_source, R, k):
    return full_swap(h_base, h_source, R, k)


def low_rank_swap(h_base, h_source, R_k):
    return h_base + (h_source - h_base) @ R_k.T @ R_k


def split_keep_countries(table, test_frac, seed):
    train, test, _ = dc.split_by_city(table, test_frac, seed)
    return train, test


def test_checks_pass_right_solutions():
    check_rotate_swap_rotate_back(rotate_swap_rotate_back)
    check_low_rank_swap(low_rank_swap)
    check_iia(dc.iia)
    check_split_by_city(split_keep_countries)


@pytest.mark.parametrize(
    "check, wrong",
    [
        (check_rotate_swap_rotate_back, lambda h_base, h_source, R, k: torch.cat([h_source[:, :k], h_base[:, k:]], -1)),
        (check_rotate_swap_rotate_back, lambda h_base, h_source, R, k: torch.cat([(h_source @ R.T)[:, :k], (h_base @ R.T)[:, k:]], -1) @ R.T),
        (check_low_rank_swap, lambda h_base, h_source, R_k: h_base + (h_source - h_base) @ R_k.T),
        (check_low_rank_swap, lambda h_base, h_source, R_k: h_source + (h_base - h_source) @ R_k.T @ R_k),
        (check_iia, lambda logits, targets: (logits.argmax(-1) == targets).sum()),
        (check_iia, lambda logits, targets: (logits.argmin(-1) == targets).float().mean()),
        (check_split_by_city, lambda table, f, seed: (table, table.sample(frac=f, random_state=seed))),
        (check_split_by_city, lambda table, f, seed: (table.sample(frac=1 - f, random_state=seed),
                                                       table.drop(table.sample(frac=1 - f, random_state=seed).index))),
    ],
)
def test_checks_reject_wrong_solutions(check, wrong):
    with pytest.raises(CheckFailed):
        check(wrong)
