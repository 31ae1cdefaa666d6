"""Chapters 1-3: each check meets the usual wrong answers and names the mistake (never a raw traceback);
a stub is reported as skipped. The right answers are tests/test_checks_patching.py's and
test_checks_rotation_training.py's."""
import pytest
import torch

from dascourse.checks import CheckFailed
from dascourse.checks.neurons import check_neuron_patch, check_rank_neurons
from dascourse.checks.residual import check_logit_diff_share, check_patch_residual
from dascourse.checks.rotation import check_low_rank_swap, check_rotate_swap_rotate_back


# --- chapter 1: the patch inside a trace (needs the model) -------------------------------------------

def patch_residual(model, prompts, layer, positions, h_new, at=None, rows=None, assign=True, clone=True,
                   save=True, last_only=True, where="own"):
    """The solution, with switches that make the usual mistakes. where: "own" (row i at positions[i]),
    "every" (new[:, positions]: every row at every position), "first" (every row at positions[0]), or
    "from start" (positions counted from the start of each unpadded prompt, blind to the left padding)."""
    at = layer if at is None else at
    rows = torch.arange(len(prompts)) if rows is None else rows
    lengths = torch.tensor([len(model.tokenizer(p)["input_ids"]) for p in prompts])
    with model.trace(list(prompts)):
        out = model.model.layers[at].output
        new = out.clone() if clone else out
        if where == "every":
            new[:, positions, :] = h_new
        elif where == "first":
            new[rows, positions[0], :] = h_new[rows]
        elif where == "from start":
            new[rows, (lengths + positions)[rows], :] = h_new[rows]
        else:
            new[rows, positions[rows], :] = h_new[rows]
        if assign and clone:
            model.model.layers[at].output = new
        logits = model.lm_head.output if not last_only else model.lm_head.output[:, -1, :]
        if save:
            logits = logits.save()
    return logits


def test_right_patch_passes(model, capsys):
    check_patch_residual(patch_residual, model)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("mistake, message", [
    (dict(save=False), r"\.save\(\)"),
    (dict(rows=torch.tensor([0])), "Only the first prompt"),
    (dict(at="+1"), "layer off by one"),
    (dict(at="-1"), "layer off by one"),
    (dict(assign=False), "never reached the model"),
    (dict(clone=False), r"not into a \.clone\(\)"),
    (dict(last_only=False), "last token's logits"),
    (dict(at="+3"), "unchanged in every row"),  # a layer number written into the function
    (dict(at="-3"), "a patch at a layer before"),
    (dict(where="every"), "every row at every position"),
    (dict(where="first"), r"Row 1 was patched at position -6 .*not at positions\[1\] = -1"),
    (dict(where="from start"), "padded on the left"),
])
def test_patch_mistakes_are_named(model, mistake, message):
    if "at" in mistake:
        shift = int(mistake["at"])
        wrong = lambda m, p, layer, pos, h: patch_residual(m, p, layer, pos, h, at=layer + shift)
    else:
        wrong = lambda m, p, layer, pos, h: patch_residual(m, p, layer, pos, h, **mistake)
    with pytest.raises(CheckFailed, match=message):
        check_patch_residual(wrong, model)


def test_patch_that_writes_into_h_new_is_named(model):
    def writes_into_h_new(model, prompts, layer, positions, h_new):
        h_new[:, 0] = 0.0
        return patch_residual(model, prompts, layer, positions, h_new)

    with pytest.raises(CheckFailed, match="an input it was given"):
        check_patch_residual(writes_into_h_new, model)


def test_a_stub_is_skipped_not_failed(model, capsys):
    def patch_residual(model, prompts, layer, positions, h_new):
        raise NotImplementedError

    check_patch_residual(patch_residual, model)
    assert "still a stub" in capsys.readouterr().out


# --- chapter 1: logit_diff_share ----------------------------------------------------------------------

def share(patched, base, source, base_ids, source_ids):
    rows = torch.arange(len(patched))
    ld = lambda logits: logits[rows, source_ids] - logits[rows, base_ids]
    return (ld(patched) - ld(base)) / (ld(source) - ld(base))


@pytest.mark.parametrize("wrong, message", [
    (lambda p, b, s, bi, si: 1 - share(p, b, s, bi, si), "1 - the share"),
    (lambda p, b, s, bi, si: share(p, b, s, bi, si).clamp(0, 1), "overshoot"),
    (lambda p, b, s, bi, si: share(p, b, s, bi, si).squeeze().tolist(), "not a tensor"),
    (lambda p, b, s, bi, si: share(p, b, s, bi, si).squeeze(), r"batch of one pair"),
    (lambda p, b, s, bi, si: (p[:, si] - p[:, bi]) / (s[:, si] - s[:, bi]), r"logits\[torch.arange\(B\), ids\]"),
    (lambda p, b, s, bi, si: share(p, b, s, bi.float(), si), "raised IndexError"),
    (lambda p, b, s, bi, si: share(p.softmax(-1), b.softmax(-1), s.softmax(-1), bi, si), "probability"),
])
def test_logit_diff_share_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_logit_diff_share(wrong)


# --- chapter 2 ----------------------------------------------------------------------------------------

def neuron_patch(h_base, h_source, mask):
    return h_base + mask * (h_source - h_base)


def _in_place(h_base, h_source, mask):
    h_base += mask * (h_source - h_base)
    return h_base


@pytest.mark.parametrize("wrong, message", [
    (_in_place, "an input it was given"),
    (lambda hb, hs, m: neuron_patch(hb[0], hs[0], m if m.ndim == 1 else m[0]), "batch of one"),
    (lambda hb, hs, m: hs + m * (hb - hs), "wrong way round"),
    (lambda hb, hs, m: neuron_patch(hb, hs, m if m.ndim == 1 else m[0]), "its own mask row"),
    (lambda hb, hs, m: neuron_patch(hb, hs, m[:, None]), "raised RuntimeError"),
    (lambda hb, hs, m: torch.tensor(neuron_patch(hb, hs, m).tolist()), "No gradient"),
])
def test_neuron_patch_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_neuron_patch(wrong)


def attribution(h_base, h_source, grad):
    return (grad * (h_source - h_base)).mean(0)


@pytest.mark.parametrize("wrong, message", [
    (lambda hb, hs, g=None: ((hs - hb).abs().mean(0) if g is None else attribution(hb, hs, g)).argsort(), "reversed"),
    (lambda hb, hs, g=None: ((hs - hb).abs().mean(0) if g is None else -attribution(hb, hs, g)).argsort(descending=True),
     "sign is flipped"),
    (lambda hb, hs, g=None: ((hs - hb).abs().mean(0) if g is None else attribution(hb, hs, g).abs()).argsort(descending=True),
     "Keep the sign"),
    (lambda hb, hs, g=None: ((hs - hb).abs().mean(0) if g is None else (g.abs() * (hs - hb)).mean(0)).argsort(descending=True),
     "Keep the sign"),
    (lambda hb, hs, g=None: (hs - hb).abs().mean(0).argsort(descending=True), "when grad is given"),
    (lambda hb, hs, g=None: (hs - hb).mean(0).argsort(descending=True), r"\*absolute\* differences"),
    (lambda hb, hs, g=None: (hs - hb).abs().mean(1).argsort(descending=True), "not over neurons"),
    (lambda hb, hs, g=None: ((hs - hb).abs() if g is None else g * (hs - hb)).squeeze().mean(0).argsort(descending=True),
     r"no \.squeeze"),
])
def test_rank_neurons_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_rank_neurons(wrong)


# --- chapter 3 ----------------------------------------------------------------------------------------

def rsrb(h_base, h_source, R, k):
    return torch.cat([(h_source @ R.T)[..., :k], (h_base @ R.T)[..., k:]], dim=-1) @ R


@pytest.mark.parametrize("wrong, message", [
    (lambda hb, hs, R, k: rsrb(hb, hs, R.T, k), "rotated with R\\^T"),
    (lambda hb, hs, R, k: rsrb(hs, hb, R, k), "base and source are swapped"),
    (lambda hb, hs, R, k: rsrb(hb[0], hs[0], R, k), "batch of one"),
    (lambda hb, hs, R, k: torch.cat([(R @ hs.T)[:k], (R @ hb.T)[k:]]) @ R, "(?s)raised RuntimeError.*Rows are vectors"),
])
def test_rotate_swap_rotate_back_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_rotate_swap_rotate_back(wrong)


def _low_rank_in_place(h_base, h_source, R_k):
    h_base += (h_source - h_base) @ R_k.T @ R_k
    return h_base


@pytest.mark.parametrize("wrong, message", [
    (_low_rank_in_place, "an input it was given"),
    (lambda hb, hs, R_k: hb + (hs - hb) @ R_k @ R_k.T, r"(?s)raised RuntimeError.*R_k is \[k, d\]"),  # R_k taken as [d, k]
    (lambda hb, hs, R_k: hb - (hs - hb) @ R_k.T @ R_k, "wrong sign"),
    (lambda hb, hs, R_k: hs + (hb - hs) @ R_k.T @ R_k, "base and source are swapped"),
    (lambda hb, hs, R_k: (hb + (hs - hb) @ R_k.T @ R_k)[0], "batch of one"),
])
def test_low_rank_swap_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_low_rank_swap(wrong)
