"""Interventions: each class does what its docstring's formula says, a new one needs no other module to be
trained, saved and loaded, and every kind comes back from a rotation file patching exactly as before."""
import gc
from pathlib import Path

import pytest
import torch
from torch import nn

import dascourse as dc
from dascourse.interventions import (BoundlessSubspace, FixedSubspace, FullPatch, Intervention, NeuronSwap,
                                     RotatedSubspace)
from dascourse.pairs import make_pairs, patch_pairs, source_states
from dascourse.prefix_cache import clear_prefix_caches, prefix_caches
from dascourse.storage import RotationFileError, intervention_class, load_intervention, save_intervention
from dascourse.train import train_das

DATA = Path(__file__).parent / "data"
LAYER = 8


class GatedNeurons(Intervention):
    """A new kind, defined here only: each neuron swapped by a learnt amount g_i = sigmoid(w_i),

        h' = h_base + g * (h_source - h_base),  penalty = weight * mean(g)
    """

    def __init__(self, d, weight=0.01):
        super().__init__()
        self.d, self.weight = d, weight
        self.logits = nn.Parameter(torch.zeros(d))

    def forward(self, h_base, h_source):
        return h_base + torch.sigmoid(self.logits) * (h_source - h_base)

    def penalty(self):
        return self.weight * torch.sigmoid(self.logits).mean()

    def config(self):
        return {"d": self.d, "weight": self.weight}


@pytest.fixture(scope="module")
def pairs(model):
    return make_pairs(model, dc.known_facts(model, "country").iloc[::20], n=12, seed=0)


def random_states(d=16, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def test_each_class_computes_its_formula():
    h_base, h_source = random_states()
    assert torch.equal(FullPatch()(h_base, h_source), h_source)
    mask = torch.tensor([1.0, 0.0] * 8)
    torch.testing.assert_close(NeuronSwap(mask)(h_base, h_source), torch.where(mask.bool(), h_source, h_base))
    R_k = torch.linalg.qr(torch.randn(16, 3)).Q.T  # 3 orthonormal rows
    fixed = FixedSubspace(16, 3, R_k)
    assert not any(p.requires_grad for p in fixed.parameters())  # frozen: a baseline, not trained
    torch.testing.assert_close(fixed(h_base, h_source), h_base + (h_source - h_base) @ R_k.T @ R_k)
    torch.manual_seed(0)
    boundless = BoundlessSubspace(16, boundary=8.5 / 16, temperatures=(1.0, 0.01))
    boundless.anneal(1.0)  # b = 8.5, temperature 0.01: m is 1 for coordinates 0..8, 0 for the rest
    R = boundless.R.detach()
    expected = h_base + ((h_source - h_base) @ R[:9].T) @ R[:9]
    torch.testing.assert_close(boundless(h_base, h_source), expected, atol=1e-5, rtol=0)
    assert boundless.learnt_k == 9


def test_training_hooks_default_to_nothing():
    rotation = RotatedSubspace(16, 3)
    assert rotation.anneal(0.5) is None and rotation.penalty() == 0
    with pytest.raises(NotImplementedError, match="forward"):
        Intervention()(*random_states())


@pytest.mark.parametrize("make", [
    lambda: FullPatch(),
    lambda: NeuronSwap(torch.tensor([1.0, 0.0] * 8)),
    lambda: RotatedSubspace(16, 3),
    lambda: RotatedSubspace(16, 16, orthogonal_map="cayley"),
    lambda: FixedSubspace(16, 3, torch.eye(16)[[2, 5, 7]]),
    lambda: BoundlessSubspace(16, boundary=0.3, temperatures=(5.0, 0.5)),
    lambda: GatedNeurons(16, weight=0.5),
], ids=["full", "neurons", "rotated", "rotated-cayley", "fixed", "boundless", "new-kind"])
def test_every_kind_saved_and_loaded_patches_identically(tmp_path, make):
    torch.manual_seed(0)
    swap = make()
    with torch.no_grad():
        for p in swap.parameters():
            p.add_(0.1)  # not the start: a "trained" module
    swap.anneal(0.7)
    save_intervention(tmp_path / "swap.pt", swap, model="m", layer=3)
    torch.manual_seed(1)  # a different start: the file alone must give the tensors back
    loaded, metadata = load_intervention(tmp_path / "swap.pt", layer=3)
    assert type(loaded) is type(swap) and loaded.config() == swap.config()
    h_base, h_source = random_states()
    assert torch.equal(loaded(h_base, h_source), swap(h_base, h_source))
    assert metadata.get("hidden_size") == swap.d  # None: FullPatch has no size, and fits any model


def test_a_new_kind_is_trained_saved_and_loaded_without_touching_any_module(model, pairs, tmp_path):
    d = model.config.hidden_size
    swap, losses = train_das(model, pairs, LAYER, None, steps=3, lr=0.1, batch_size=4, progress=False,
                             swap=GatedNeurons(d))
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert swap.logits.abs().min() > 0  # every gate moved: the loss (with the penalty) reached all of them
    save_intervention(tmp_path / "gated.pt", swap, model=model.name, layer=LAYER, attribute="country")
    loaded, metadata = load_intervention(tmp_path / "gated.pt", model=model, layer=LAYER)
    assert isinstance(loaded, GatedNeurons) and metadata["hidden_size"] == d
    with torch.no_grad():
        assert torch.equal(patch_pairs(model, pairs, LAYER, loaded), patch_pairs(model, pairs, LAYER, swap))


def test_a_saved_boundless_rotation_loads_back_and_patches_identically(model, pairs, tmp_path):
    torch.manual_seed(0)
    swap, _ = train_das(model, pairs, LAYER, None, steps=2, lr=1e-2, batch_size=4, progress=False,
                        swap=BoundlessSubspace(model.config.hidden_size, boundary=0.25))
    save_intervention(tmp_path / "boundless.pt", swap, model=model.name, layer=LAYER)
    loaded, _ = load_intervention(tmp_path / "boundless.pt", model=model, layer=LAYER)
    assert isinstance(loaded, BoundlessSubspace)
    assert loaded.temperature == swap.temperature and torch.equal(loaded.boundary, swap.boundary)
    with torch.no_grad():
        assert torch.equal(patch_pairs(model, pairs, LAYER, loaded), patch_pairs(model, pairs, LAYER, swap))


def test_a_rotation_file_of_version_0_1_0_still_loads():
    # Written by dascourse 0.1.0's save_intervention (no type tag), with the h' its rotation gave then.
    rotation, metadata = load_intervention(DATA / "rotation-0.1.0.pt", layer=12)
    assert type(rotation) is RotatedSubspace and (rotation.d, rotation.k) == (16, 3)
    assert metadata["dascourse_version"] == "0.1.0" and metadata["model"] == dc.DEFAULT_MODEL
    then = torch.load(DATA / "rotation-0.1.0-patch.pt")
    assert torch.equal(rotation(then["h_base"], then["h_source"]).detach(), then["h_new"])


def test_type_tags_resolve_without_a_registry(tmp_path):
    assert intervention_class("BoundlessSubspace") is BoundlessSubspace
    assert intervention_class("GatedNeurons") is GatedNeurons  # found as a subclass, registered nowhere
    assert intervention_class("NoSuchSwap") is None
    save_intervention(tmp_path / "x.pt", GatedNeurons(4), model="m", layer=0)
    saved = torch.load(tmp_path / "x.pt", weights_only=True)
    torch.save({**saved, "type": "NoSuchSwap"}, tmp_path / "x.pt")
    with pytest.raises(RotationFileError, match="NoSuchSwap .* not defined here: import or define that class"):
        load_intervention(tmp_path / "x.pt")
    twin = type("GatedNeurons", (Intervention,), {"__module__": "elsewhere"})  # same name, other module
    with pytest.raises(RotationFileError, match="Several intervention classes are named 'GatedNeurons'"):
        intervention_class("GatedNeurons")
    del twin
    gc.collect()  # a class lives in a reference cycle: collect it, so later tests see one GatedNeurons
    assert intervention_class("GatedNeurons") is GatedNeurons


def test_training_refuses_a_module_that_is_no_intervention(model, pairs):
    with pytest.raises(TypeError, match="needs an Intervention"):
        train_das(model, pairs, LAYER, None, steps=1, swap=nn.Linear(4, 4))


def test_prompt_caches_live_on_the_model_and_can_be_dropped(model, pairs):
    states = source_states(model, pairs["source"], LAYER)
    city = next(iter(states))
    kept = states[city].clone()
    states[city].zero_()  # an in-place edit of a returned vector ...
    assert torch.equal(source_states(model, pairs["source"], LAYER)[city], kept)  # ... leaves the cache alone
    assert len(prefix_caches(model)) >= 1
    clear_prefix_caches(model)
    assert len(prefix_caches(model)) == 0
    assert torch.equal(source_states(model, pairs["source"], LAYER)[city], kept)  # computed again, the same
