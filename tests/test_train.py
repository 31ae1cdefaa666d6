"""dascourse.train without the model: the settings' checks, the seeded start, the batches and the loss formula."""
import pytest
import torch
from stub_model import StubModel

from dascourse.interventions import RotatedSubspace
from dascourse.train import TrainSettings, das_loss, draw_batch, fresh_rotation


@pytest.mark.parametrize("kwargs, message", [
    ({"keep": "continent"}, "must be a tuple"),
    ({"keep": ("country",)}, "must list other attributes"),
    ({"keep": ("continent", "continent")}, "each once"),
    ({"batch_size": 0}, "batch_size >= 1"),
    ({"steps": -1}, "steps >= 0"),
])
def test_train_settings_name_the_mistake(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainSettings(**kwargs)


def test_train_settings_defaults_are_chapter_5s():
    s = TrainSettings()
    assert (s.steps, s.lr, s.batch_size, s.seed, s.keep, s.attribute) == (100, 3e-3, 16, 0, (), "country")


def test_fresh_rotation_is_seeded_and_leaves_the_callers_random_state_alone():
    model = StubModel(hidden_size=8)
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = fresh_rotation(model, 3, 0), fresh_rotation(model, 3, 0), fresh_rotation(model, 3, 1)
    assert torch.rand(1) == expected
    assert isinstance(a, RotatedSubspace)
    h_base, h_source = torch.randn(4, 8), torch.randn(4, 8)
    assert torch.equal(a(h_base, h_source), b(h_base, h_source))
    assert not torch.equal(a(h_base, h_source), c(h_base, h_source))


def test_draw_batch_is_reproducible_and_in_range():
    first = draw_batch(torch.Generator().manual_seed(5), 10, 64)
    assert torch.equal(first, draw_batch(torch.Generator().manual_seed(5), 10, 64))
    assert first.shape == (64,) and 0 <= first.min() and first.max() < 10


def test_das_loss_is_cause_plus_mean_isolate_plus_penalty():
    class Penalised(RotatedSubspace):
        def penalty(self):
            return torch.tensor(0.5)

    swap = Penalised(8, 2)
    cause, isolate = torch.tensor(1.0), (torch.tensor(2.0), torch.tensor(4.0))
    assert das_loss(swap, cause, isolate).item() == pytest.approx(1.0 + 3.0 + 0.5)
    assert das_loss(swap, cause).item() == pytest.approx(1.5)
