"""Chapter 6's newer checks against the usual wrong answers: each gets a message naming the mistake."""
import pytest
import torch

from dascourse.checks import CheckFailed
from dascourse.checks.evaluation import check_mask_swap
from dascourse.interventions import mask_swap


def in_place(h_base, h_source, logits, temperature):
    h_base += torch.sigmoid(logits / temperature) * (h_source - h_base)
    return h_base


def hard_mask(h_base, h_source, logits, temperature):
    return h_base + (logits > 0).float() * (h_source - h_base)


def detached(h_base, h_source, logits, temperature):
    return mask_swap(h_base, h_source, logits.detach(), temperature)


def crashes(h_base, h_source, logits, temperature):
    return h_base @ h_source  # [3, 6] @ [3, 6]: a shape error in torch


MISTAKES = {
    "swapped the roles of base and source": lambda b, s, l, t: s + torch.sigmoid(l / t) * (b - s),
    "without the temperature": lambda b, s, l, t: b + torch.sigmoid(l) * (s - b),
    "multiplied the logits by the temperature": lambda b, s, l, t: b + torch.sigmoid(l * t) * (s - b),
    "hard 0/1 mask": hard_mask,
    "logits themselves as the mask": lambda b, s, l, t: b + l * (s - b),
    "changed `h_base`, an input it was given": in_place,
    "no gradient to the logits": detached,
    "raised RuntimeError": crashes,
    "shape": lambda b, s, l, t: (b + torch.sigmoid(l / t) * (s - b))[0],
}


def test_mask_swap_check_passes_the_library_version(capsys):
    check_mask_swap(mask_swap)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("message", MISTAKES)
def test_mask_swap_check_names_the_mistake(message):
    with pytest.raises(CheckFailed, match=message):
        check_mask_swap(MISTAKES[message])


def test_mask_swap_stub_is_skipped(capsys):
    def mask_swap(h_base, h_source, logits, temperature):
        raise NotImplementedError

    check_mask_swap(mask_swap)
    assert "still a stub" in capsys.readouterr().out
