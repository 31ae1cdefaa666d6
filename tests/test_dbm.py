"""RAVEL's differentiable binary masking (interventions.SparseNeuronMask, baselines.fit_sparse_masks)."""
import pytest
import torch

import dascourse as dc

from mask_toy import ANSWER_NEURONS, D, toy_iia, train_on_toy

WEAK = 0.1  # the other neurons are read weakly, so that a mask without a price keeps them too


def train_sparse(sparsity, steps=150):
    return train_on_toy(dc.SparseNeuronMask(D, sparsity), steps, weak=WEAK)


def test_sparsity_learns_the_answer_neurons_and_their_number():
    mask = train_sparse(sparsity=0.05)
    assert mask.k == len(ANSWER_NEURONS)  # the size is learnt, not given
    assert mask.kept().nonzero().flatten().tolist() == ANSWER_NEURONS
    assert toy_iia(mask.neuron_swap(), weak=WEAK) > 0.8  # the weakly read neurons decide a few labels


def test_kept_size_falls_as_the_price_rises():
    sizes = [train_sparse(sparsity).k for sparsity in (0.0, 0.05, 5.0)]
    assert sizes[0] > len(ANSWER_NEURONS)  # no price: weakly read neurons are kept too
    assert sizes[1] == len(ANSWER_NEURONS) and sizes[2] == 0


def test_kept_set_is_m_above_half_and_penalty_is_l1():
    mask = dc.SparseNeuronMask(D, sparsity=0.1)
    assert mask.k == 0 and torch.allclose(mask.penalty(), torch.tensor(0.1 * D * 0.5))  # m = 0.5 everywhere
    with torch.no_grad():
        mask.logits.copy_(torch.linspace(-1, 1, D))
    for fraction in (0.0, 0.5, 1.0):
        mask.anneal(fraction)
        assert torch.equal(mask.kept(), (mask.mask() > 0.5).float())
        assert torch.allclose(mask.penalty(), 0.1 * mask.mask().sum())
    assert mask.k == D // 2
    h_base, h_source = torch.zeros(1, D), torch.ones(1, D)
    assert mask.neuron_swap()(h_base, h_source)[0].tolist() == mask.kept().tolist()


def test_temperature_falls_linearly():
    mask = dc.SparseNeuronMask(D, 0.1, temperatures=(1.0, 0.2))
    temps = []
    for fraction in (0.0, 0.25, 0.5, 1.0):
        mask.anneal(fraction)
        temps.append(mask.temperature)
    assert temps == pytest.approx([1.0, 0.8, 0.6, 0.2])
    with pytest.raises(ValueError, match="high to low"):
        dc.SparseNeuronMask(D, 0.1, temperatures=(0.01, 1.0))
    with pytest.raises(ValueError, match="L1 weight"):
        dc.SparseNeuronMask(D, -1.0)


def test_sparse_mask_saves_and_loads(tmp_path):
    mask = train_sparse(sparsity=0.05, steps=20)
    dc.save_intervention(tmp_path / "dbm.pt", mask, model="toy", layer=0)
    loaded, metadata = dc.load_intervention(tmp_path / "dbm.pt")
    assert type(loaded) is dc.SparseNeuronMask and loaded.sparsity == 0.05 and metadata["k"] == mask.k
    assert torch.equal(loaded.kept(), mask.kept()) and loaded.temperature == mask.temperature


def test_nearest_size_is_on_a_log_scale_with_cause_breaking_ties():
    assert dc.nearest_size([200, 40, 9, 2], [0.9, 0.8, 0.7, 0.1], k=16) == 2  # |log(10/17)| < |log(41/17)|
    assert dc.nearest_size([7, 33], [0.5, 0.6], k=16) == 1  # (7+1)/(16+1) and (33+1)/(16+1): equally far
    assert dc.nearest_size([0, 0], [0.0, 0.2], k=4) == 1
    with pytest.raises(ValueError, match="one validation Cause"):
        dc.nearest_size([1, 2], [0.5], k=1)


def test_fit_sparse_masks_on_the_model(model):
    facts = dc.known_facts(model, "country")
    train_pairs, val_pairs = (dc.make_pairs(model, facts.iloc[part], n=16, seed=0)
                              for part in (slice(0, len(facts) // 2), slice(len(facts) // 2, None)))
    chosen, table = dc.fit_sparse_masks(model, train_pairs, val_pairs, 12, ks=[4, 64], sparsities=(1e-3, 1.0),
                                        settings=dc.TrainSettings(steps=3, batch_size=4, lr=0.05, progress=False))
    assert list(table["sparsity"]) == [1e-3, 1.0] and table["val_cause"].between(0, 1).all()
    assert table["kept"][0] >= table["kept"][1]  # a higher price keeps no more neurons
    assert set(chosen) == {4, 64} and all(type(mask) is dc.SparseNeuronMask for mask in chosen.values())
    assert all(k in table["chosen_for"][list(table["sparsity"]).index(chosen[k].sparsity)] for k in chosen)
