"""Checks for chapter 7's exercises (multi-task DAS and Boundless DAS). They need no model."""
import torch
import torch.nn.functional as F

from . import call, check, expect, passed


@check
def check_mdas_loss(mdas_loss):
    """mdas_loss(cause_logits, source_answers, isolate) = CE(cause_logits, source_answers)
    + mean over isolate's attributes a of CE(logits_a, base_answers_a), where isolate = {a: (logits_a, base_answers_a)}."""
    gen = torch.Generator().manual_seed(0)
    cause, source = torch.randn(4, 7, generator=gen), torch.tensor([1, 0, 6, 3])
    isolate = {"continent": (torch.randn(5, 7, generator=gen), torch.tensor([2, 2, 5, 0, 1])),
               "language": (torch.randn(3, 7, generator=gen), torch.tensor([4, 6, 0]))}
    cause_ce = F.cross_entropy(cause, source).item()
    ce = {a: F.cross_entropy(*isolate[a]).item() for a in isolate}
    cases = [
        ({}, cause_ce, "with nothing to keep (isolate = {}) it is plain DAS's loss, the cause term alone"),
        ({"continent": isolate["continent"]}, cause_ce + ce["continent"], "one kept attribute"),
        (isolate, cause_ce + (ce["continent"] + ce["language"]) / 2,
         "two kept attributes: their terms are averaged, then added to the cause term"),
    ]
    for kept, want, case in cases:
        leaf = cause.clone().requires_grad_()
        got = call(mdas_loss, leaf, source, kept, case=case,
                   hint="With isolate = {} there is no isolate term to average (torch.stack([]) fails): add "
                        "the mean only when isolate is not empty." if not kept else "")
        expect(torch.is_tensor(got) and got.ndim == 0,
               f"{case}: return a 0-dim tensor (so that .backward() works), got {got!r}.")
        expect(got.requires_grad,
               f"{case}: the loss does not depend on the logits (no gradient would reach the rotation): build it "
               f"with torch operations, without .item(), .detach() or torch.tensor(...) of numbers.")
        value = got.item()
        terms = [ce[a] for a in kept]
        pooled = F.cross_entropy(torch.cat([l for l, _ in kept.values()]), torch.cat([b for _, b in kept.values()])
                                 ).item() if kept else 0.0
        for wrong, mistake in [
            (cause_ce + sum(terms), "summed the isolate terms; take their mean over the kept attributes"),
            (cause_ce + pooled, "pooled all kept attributes' rows into one cross-entropy, so an attribute with more "
                                "pairs weighs more; take each attribute's cross-entropy, then their mean"),
            (cause_ce - sum(terms) / max(len(terms), 1), "subtracted the isolate terms; add them (the loss must be "
                                                         "low when the base's answers stay)"),
            ((cause_ce + sum(terms)) / (1 + len(terms)), "averaged the cause term with the isolate terms; the loss is "
                                                         "cause + mean of the isolate terms"),
        ]:
            expect(not kept or abs(value - want) < 1e-4 or abs(value - wrong) > 1e-4,
                   f"{case}: expected {want:.4f}, got {value:.4f}: you {mistake}.")
        expect(abs(value - cause_ce) > 1e-4 or not kept,
               f"{case}: expected {want:.4f}, got {value:.4f}, the cause term alone: the isolate terms are missing.")
        expect(abs(value - want) < 1e-4,
               f"{case}: expected {want:.4f}, got {value:.4f}. Cause = cross-entropy of the source's answer; "
               f"each isolate term = cross-entropy of the BASE's answer; loss = cause + mean of the isolate terms.")
    passed("mdas_loss")


@check
def check_boundary_mask(boundary_mask):
    """boundary_mask(b, d, temperature) = sigmoid((b - i) / temperature) for i = 0 .. d-1."""
    for b, d, t in [(3.0, 8, 1.0), (10.5, 16, 4.0), (0.0, 5, 0.5), (2.0, 6, 0.01)]:
        case = f"b={b}, d={d}, temperature={t}"
        i = torch.arange(d, dtype=torch.float32)
        want = torch.sigmoid((b - i) / t)
        got = call(boundary_mask, torch.tensor(b), d, t, case=case,
                   hint="b is a 0-dim tensor; build i with torch.arange(d).")
        expect(torch.is_tensor(got) and got.shape == (d,), f"{case}: expected a tensor of shape ({d},), got "
                                                          f"{tuple(got.shape) if torch.is_tensor(got) else got!r}.")
        got = got.detach().float()
        for wrong, mistake in [
            (torch.sigmoid((i - b) / t), "flipped the sign: sigmoid((i - b) / temperature) swaps the coordinates "
                                         "ABOVE the boundary; the first ones (i < b) must be near 1"),
            (torch.sigmoid((b - i) * t), "multiplied by the temperature; divide by it (a low temperature makes "
                                         "the mask sharper)"),
            (torch.sigmoid((b - i - 1) / t), "counted i from 1; the coordinates are i = 0 .. d-1 (torch.arange(d))"),
            ((i < b).float(), "returned a hard 0/1 step; it has no gradient in b, so training could not move b"),
        ]:
            expect(torch.allclose(got, want, atol=1e-5) or not torch.allclose(got, wrong, atol=1e-5),
                   f"{case}: expected {want.numpy().round(3)}, got {got.numpy().round(3)}: you {mistake}.")
        expect(torch.allclose(got, want, atol=1e-5),
               f"{case}: expected {want.numpy().round(3)}, got {got.numpy().round(3)}. Coordinates below the "
               f"boundary are swapped (m_i near 1): m_i = sigmoid((b - i) / temperature).")
    b = torch.tensor(4.0, requires_grad=True)
    mask = call(boundary_mask, b, 8, 2.0, case="b=4.0, d=8, temperature=2.0")
    expect(mask.requires_grad, "The mask must be differentiable in b: build it from b with torch operations "
                               "(no float(b), .item() or a comparison such as i < b).")
    mask.sum().backward()
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
