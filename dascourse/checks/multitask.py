"""Checks for chapter 7's exercises (multi-task DAS and Boundless DAS). They need no model."""
import torch
import torch.nn.functional as F

from . import expect, passed


def check_mdas_loss(mdas_loss):
    """mdas_loss(cause_logits, source_answers, isolate) = CE(cause_logits, source_answers)
    + mean over isolate's attributes a of CE(logits_a, base_answers_a), where isolate = {a: (logits_a, base_answers_a)}."""
    gen = torch.Generator().manual_seed(0)
    cause, source = torch.randn(4, 7, generator=gen), torch.tensor([1, 0, 6, 3])
    isolate = {"continent": (torch.randn(5, 7, generator=gen), torch.tensor([2, 2, 5, 0, 1])),
               "language": (torch.randn(3, 7, generator=gen), torch.tensor([4, 6, 0]))}
    ce = {a: F.cross_entropy(*isolate[a]).item() for a in isolate}
    cases = [
        ({}, F.cross_entropy(cause, source).item(), "with nothing to keep it is plain DAS's loss"),
        ({"continent": isolate["continent"]}, F.cross_entropy(cause, source).item() + ce["continent"],
         "one kept attribute"),
        (isolate, F.cross_entropy(cause, source).item() + (ce["continent"] + ce["language"]) / 2,
         "two kept attributes: their terms are averaged, then added to the cause term"),
    ]
    for kept, want, why in cases:
        got = mdas_loss(cause, source, kept)
        expect(torch.is_tensor(got) and got.ndim == 0,
               f"{why}: return a 0-dim tensor (so that .backward() works), got {got!r}.")
        expect(abs(got.item() - want) < 1e-4,
               f"{why}: expected {want:.4f}, got {got.item():.4f}. Cause = cross-entropy of the source's answer; "
               f"each isolate term = cross-entropy of the BASE's answer; loss = cause + mean of the isolate terms.")
    passed("mdas_loss")


def check_boundary_mask(boundary_mask):
    """boundary_mask(b, d, temperature) = sigmoid((b - i) / temperature) for i = 0 .. d-1."""
    for b, d, t in [(3.0, 8, 1.0), (10.5, 16, 4.0), (0.0, 5, 0.5), (2.0, 6, 0.01)]:
        want = torch.sigmoid((b - torch.arange(d, dtype=torch.float32)) / t)
        got = boundary_mask(torch.tensor(b), d, t)
        expect(torch.is_tensor(got) and got.shape == (d,), f"b={b}, d={d}: expected a tensor of shape ({d},), got "
                                                            f"{getattr(got, 'shape', got)}.")
        expect(torch.allclose(got.float(), want, atol=1e-5),
               f"b={b}, d={d}, temperature={t}: expected {want.numpy().round(3)}, got {got.detach().numpy().round(3)}. "
               f"Coordinates below the boundary are swapped (m_i near 1): m_i = sigmoid((b - i) / temperature).")
    b = torch.tensor(4.0, requires_grad=True)
    boundary_mask(b, 8, 2.0).sum().backward()
    expect(b.grad is not None and b.grad > 0,
           "The mask must be differentiable in b (build it from b with torch operations), and a larger b "
           "must swap more.")
    passed("boundary_mask")


def mdas_loss(cause_logits, source_answers, isolate):
    """dascourse's MDAS loss from logits, the one training uses (dascourse.train.das_loss): the cells after
    Exercise 7.1 fall back to it while the learner's mdas_loss is a stub.

    loss = CE(cause_logits, source_answers) + mean over isolate's attributes a of CE(logits_a, base_answers_a)
    """
    # Imported here, not above: checking an exercise needs no training code, only this fallback does.
    from ..interventions import FullPatch  # no trained parameters, so no penalty
    from ..train import das_loss
    isolate_terms = [F.cross_entropy(logits, base_answers) for logits, base_answers in isolate.values()]
    return das_loss(FullPatch(), F.cross_entropy(cause_logits, source_answers), isolate_terms)
