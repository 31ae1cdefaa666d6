"""The learned neuron mask (interventions.LearnedNeuronMask, chapter 6's trained control)."""
import pytest
import torch
import torch.nn.functional as F

import dascourse as dc

from dascourse.baselines import train_learned_mask
from dascourse.interventions import LearnedNeuronMask, NeuronSwap
from dascourse.storage import load_intervention, save_intervention

D, ANSWER_NEURONS = 16, [2, 5, 11]


def toy_pairs(n, seed):
    """h_base, h_source [n, D] and a readout [D, 4] that reads only ANSWER_NEURONS: the counterfactual
    label of a pair is the readout's answer on h_source."""
    g = torch.Generator().manual_seed(seed)
    readout = torch.zeros(D, 4)
    readout[ANSWER_NEURONS] = 3 * torch.randn(len(ANSWER_NEURONS), 4, generator=g)
    h_base, h_source = torch.randn(2, n, D, generator=g)
    return h_base, h_source, readout, (h_source @ readout).argmax(-1)


def train_on_toy(steps=60, lr=0.05, batch_size=32):
    """The loop train_das runs, on the toy: anneal, patch with the soft mask, cross-entropy, step."""
    h_base, h_source, readout, labels = toy_pairs(512, seed=0)
    mask = LearnedNeuronMask(D, k=len(ANSWER_NEURONS))
    opt = torch.optim.Adam(mask.parameters(), lr=lr)
    g = torch.Generator().manual_seed(1)
    for step in range(steps):
        mask.anneal(step / steps)
        rows = torch.randint(len(labels), (batch_size,), generator=g)
        loss = F.cross_entropy(mask(h_base[rows], h_source[rows]) @ readout, labels[rows]) + mask.penalty()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mask


def toy_iia(swap, seed=2):
    h_base, h_source, readout, labels = toy_pairs(256, seed)
    with torch.no_grad():
        return ((swap(h_base, h_source) @ readout).argmax(-1) == labels).float().mean().item()


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
