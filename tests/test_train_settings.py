"""One training entry: every training function takes `settings=dc.TrainSettings(...)`, which trains exactly
what the same knobs as arguments train; the command line's defaults are the course's committed settings."""
import pytest
import torch

import dascourse as dc
from dascourse.cli import parser


def test_cli_defaults_are_the_course_settings():
    course = dc.course_settings()
    train = parser().parse_args(["train", "--layer", "1", "--k", "2", "--out", "x.pt"])
    assert (train.steps, train.lr, train.batch_size) == (course["steps"], course["lr"], course["batch_size"])
    select = parser().parse_args(["select", "--out", "x.csv"])
    assert (select.layers, select.k, select.lr, select.batch_size, select.steps) == (
        str(course["layer"]), str(course["k"]), str(course["lr"]), str(course["batch_size"]), course["steps"])
    assert dc.TrainSettings.course().batch_size == course["batch_size"]


def test_settings_and_arguments_are_not_mixed():
    with pytest.raises(ValueError, match=r"\['lr'\] inside settings"):
        dc.train_das(None, None, 0, 4, lr=0.1, settings=dc.TrainSettings())
    with pytest.raises(TypeError, match="dc.TrainSettings"):
        dc.train_das(None, None, 0, 4, settings={"steps": 2})


def test_seeded_start_leaves_the_callers_random_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    a = dc.seeded(dc.RotatedSubspace, 16, 4, seed=1)
    assert torch.equal(torch.rand(3), expected)
    assert torch.equal(a.R_k, dc.seeded(dc.RotatedSubspace, 16, 4, seed=1).R_k)
    assert not torch.equal(a.R_k, dc.seeded(dc.RotatedSubspace, 16, 4, seed=2).R_k)


@pytest.fixture(scope="module")
def pairs(model):
    return dc.make_pairs(model, dc.known_facts(model, "country").iloc[::25])


def test_settings_train_what_the_arguments_train(model, pairs):
    knobs = dict(steps=2, lr=1e-2, batch_size=4, seed=3, progress=False)
    by_arguments, losses = dc.train_das(model, pairs, 8, 4, **knobs)
    by_settings, losses_again = dc.train_das(model, pairs, 8, 4, settings=dc.TrainSettings(**knobs))
    assert torch.equal(by_arguments.R_k, by_settings.R_k) and losses == losses_again
    (many, _), = dc.train_das_many(model, pairs, 8, [(4, 3)], settings=dc.TrainSettings(**knobs))
    (side, _), = dc.train_side_by_side(model, pairs, 8, [dc.fresh_rotation(model, 4, 3)], [3],
                                       settings=dc.TrainSettings(**knobs))
    assert torch.allclose(many.R_k, by_settings.R_k, atol=1e-6) and torch.allclose(side.R_k, by_settings.R_k, atol=1e-6)
