"""Boundless DAS as published (interventions.PublishedBoundless, train.train_boundless)."""
import pytest
import torch
import torch.nn.functional as F

import dascourse as dc

D = 16


def test_mask_is_pyvenes_two_sided_sigmoid_and_the_boundary_is_clamped():
    swap = dc.PublishedBoundless(D, boundary=0.5, temperatures=(50.0, 0.1))
    swap.anneal(1.0)
    i = torch.arange(D, dtype=torch.float32)
    assert torch.allclose(swap.mask(), torch.sigmoid(i / 0.1) * torch.sigmoid((8 - i) / 0.1))
    assert swap.mask()[0] <= 0.5 and swap.learnt_k == 7  # coordinate 0 is never more than half swapped
    with torch.no_grad():
        swap.boundary.fill_(3.0)
    assert swap.b.item() == D
    with torch.no_grad():
        swap.boundary.fill_(-1.0)
    assert swap.b.item() == pytest.approx(D * 1e-3)


def test_temperature_is_linear_and_widths_are_recorded():
    swap = dc.PublishedBoundless(D, boundary=0.25, temperatures=(50.0, 0.1))
    for step in range(4):
        swap.anneal(step / 4)
    assert swap.temperature == pytest.approx(50 + (0.1 - 50) * 0.75)
    assert swap.widths == [4.0] * 4


def test_boundary_and_rotation_take_their_own_learning_rates():
    swap = dc.seeded(dc.PublishedBoundless, D, boundary=0.5, lr_boundary=0.05, seed=0)
    groups = swap.param_groups()
    assert [p for g in groups for p in g["params"]] and groups[1] == {"params": [swap.boundary], "lr": 0.05}
    opt = torch.optim.Adam(groups, lr=1e-3)
    g = torch.Generator().manual_seed(0)
    h_base, h_source = torch.randn(2, 8, D, generator=g)
    swap.anneal(0.0)
    loss = F.mse_loss(swap(h_base, h_source), h_source) + swap.penalty()
    opt.zero_grad()
    loss.backward()
    before = swap.boundary.item()
    opt.step()
    assert abs(swap.boundary.item() - before) == pytest.approx(0.05, rel=1e-3)  # Adam's first step: lr * sign(grad)


def test_step_limit_tells_a_width_the_steps_ran_out_on_from_a_settled_one():
    swap = dc.PublishedBoundless(D, boundary=0.5, lr_boundary=0.01)
    per_step = 0.01 * D
    swap.widths = [8 + per_step * t for t in range(41)]  # moving at the largest step to the end
    report = swap.step_limit()
    assert report["steps"] == 40 and report["share"] == pytest.approx(1.0) and report["limited"]
    swap.widths = [8 + per_step * min(t, 10) for t in range(41)]  # moved 10 steps, then settled
    report = swap.step_limit()
    assert report["share"] == pytest.approx(0.25) and report["final_rate"] == 0 and not report["limited"]
    swap.widths = []
    with pytest.raises(ValueError, match="train it first"):
        swap.step_limit()


def test_saves_and_loads(tmp_path):
    swap = dc.seeded(dc.PublishedBoundless, D, boundary=0.3, lr_boundary=0.02, seed=1)
    swap.anneal(0.5)
    dc.save_intervention(tmp_path / "b.pt", swap, model="toy", layer=0)
    loaded, _ = dc.load_intervention(tmp_path / "b.pt")
    assert type(loaded) is dc.PublishedBoundless and loaded.lr_boundary == 0.02
    assert torch.allclose(loaded.mask(), swap.mask()) and torch.allclose(loaded.R, swap.R)


def test_train_boundless_on_the_model(model):
    pairs = dc.make_pairs(model, dc.known_facts(model, "country"), n=16, seed=0)
    steps, d = 3, model.config.hidden_size
    swap, losses = dc.train_boundless(model, pairs, 12, steps=steps, batch_size=4, progress=False)
    assert len(losses) == steps and len(swap.widths) == steps + 1 and swap.temperature == pytest.approx(0.1)
    # the loop gives the boundary its own rate: Adam's first step moves b by lr_boundary * d
    assert abs(swap.widths[1] - swap.widths[0]) == pytest.approx(1e-2 * d, rel=1e-2)
    assert set(swap.step_limit()) >= {"moved", "most", "limited"}
    with pytest.raises(ValueError, match="Cause loss alone"):
        dc.train_boundless(model, pairs, 12, settings=dc.TrainSettings(steps=1, keep=("continent",)))
