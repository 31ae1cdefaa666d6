"""The learned neuron mask (interventions.LearnedNeuronMask, chapter 6's trained control)."""
import pytest
import torch

import dascourse as dc

from dascourse.baselines import train_learned_mask
from dascourse.interventions import LearnedNeuronMask, NeuronSwap
from dascourse.storage import load_intervention, save_intervention

from mask_toy import ANSWER_NEURONS, D, toy_iia
from mask_toy import train_on_toy as train_mask_on_toy


def train_on_toy(steps=60):
    return train_mask_on_toy(LearnedNeuronMask(D, k=len(ANSWER_NEURONS)), steps)


def test_learned_mask_finds_the_answer_neurons_and_beats_random_masks():
    mask = train_on_toy()
    hard = mask.hard_mask()
    assert hard.sum().item() == len(ANSWER_NEURONS) and set(hard.nonzero().flatten().tolist()) == set(ANSWER_NEURONS)
    assert mask.temperature < 0.02  # annealed to near the last temperature
    learned = toy_iia(mask.neuron_swap())
    g = torch.Generator().manual_seed(0)
    random = [toy_iia(NeuronSwap(torch.zeros(D).index_fill(0, torch.randperm(D, generator=g)[:3], 1.0)))
              for _ in range(10)]
    assert learned == 1.0 and max(random) < 0.9


def test_hard_mask_has_k_ones_for_any_k_and_neuron_swap_patches_them():
    mask = LearnedNeuronMask(D, k=4)
    with torch.no_grad():
        mask.logits.copy_(torch.arange(D, dtype=torch.float32))  # neuron 15 highest
    assert mask.hard_mask().sum() == 4 and mask.hard_mask()[-4:].tolist() == [1.0] * 4
    assert mask.hard_mask(k=7).sum() == 7
    swap = mask.neuron_swap()
    h_base, h_source = torch.zeros(2, D), torch.ones(2, D)
    assert swap(h_base, h_source)[0].tolist() == [0.0] * 12 + [1.0] * 4
    with pytest.raises(ValueError, match="out of range"):
        mask.hard_mask(k=D + 1)


def test_soft_mask_starts_half_way_and_leaves_inputs_alone():
    mask = LearnedNeuronMask(D, k=3)
    h_base, h_source = torch.zeros(3, D), torch.full((3, D), 2.0)
    out = mask(h_base, h_source)
    assert torch.allclose(out, torch.ones(3, D)) and h_base.abs().sum() == 0  # m = 0.5; h_base untouched
    with pytest.raises(ValueError, match="same shape"):
        mask(h_base, h_source[:, :4])
    with pytest.raises(ValueError, match="high to low"):
        LearnedNeuronMask(D, 3, temperatures=(0.01, 1.0))


def test_learned_mask_saves_and_loads(tmp_path):
    mask = train_on_toy(steps=10)
    path = tmp_path / "mask.pt"
    save_intervention(path, mask, model="toy", layer=0)
    loaded, metadata = load_intervention(path)
    assert type(loaded) is LearnedNeuronMask and metadata["k"] == 3 and metadata["hidden_size"] == D
    assert torch.equal(loaded.logits, mask.logits) and loaded.temperature == mask.temperature
    assert torch.equal(loaded.hard_mask(), mask.hard_mask())


def test_learned_mask_trains_with_train_das(model):
    pairs = dc.make_pairs(model, dc.known_facts(model, "country"), n=16, seed=0)
    mask, losses = train_learned_mask(model, pairs, 12, k=8, steps=3, batch_size=4, progress=False)
    assert len(losses) == 3 and all(loss == loss for loss in losses)  # no NaN
    assert mask.logits.abs().sum() > 0  # the logits moved
    assert mask.hard_mask().sum() == 8
