"""Checks for chapter 1 (residual-stream patching). They need no model: each case is small, hand-made
logits with a known answer."""
import torch

from . import check, expect, passed


def _logits(rows):
    return torch.tensor(rows, dtype=torch.float32)


@check
def check_logit_diff_share(logit_diff_share):
    """logit_diff_share(patched, base, source, base_ids, source_ids) -> [B] share of the logit difference moved."""
    base_ids, source_ids = torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0])
    base = _logits([[3, 1, 0, 0], [0, 4, 0, 0], [0, 0, 2, 0]])    # LD = logit[source] - logit[base]: -2, -4, -2
    source = _logits([[1, 3, 0, 0], [0, 0, 4, 0], [2, 0, 0, 0]])  # LD: 2, 4, 2
    patched = _logits([[2, 2, 0, 0], [0, 0, 4, 0], [0, 0, 2, 0]])  # LD: 0 (half way), 4 (= source), -2 (= base)
    expected = torch.tensor([0.5, 1.0, 0.0])

    got = torch.as_tensor(logit_diff_share(patched, base, source, base_ids, source_ids), dtype=torch.float32)
    expect(got.shape == (3,), f"Expected one share per row, shape (3,); got shape {tuple(got.shape)}.")
    expect(torch.allclose(got, expected, atol=1e-5),
           f"Expected shares {expected.tolist()} (half way, all the way, not at all); got {got.tolist()}. "
           "Share = (LD_patched - LD_base) / (LD_source - LD_base) with LD = logit[source id] - logit[base id].")

    shifted = torch.as_tensor(logit_diff_share(patched + 7.0, base - 3.0, source, base_ids, source_ids),
                              dtype=torch.float32)
    expect(torch.allclose(shifted, expected, atol=1e-5),
           "Adding a constant to every logit of a row must not change the share (only logit *differences* "
           f"matter, as in a softmax); got {shifted.tolist()}.")

    beyond = torch.as_tensor(logit_diff_share(_logits([[0, 4, 0, 0]]), base[:1], source[:1], base_ids[:1],
                                              source_ids[:1]), dtype=torch.float32)
    expect(torch.allclose(beyond, torch.tensor([1.5]), atol=1e-5),
           f"A patch can overshoot the source (LD = 4 > 2): expected share 1.5, not clipped; got {beyond.tolist()}.")
    passed("logit_diff_share")


@check
def check_patch_outcome(patch_outcome):
    """patch_outcome(logits, base_ids, source_ids) -> list of "source" / "base" / "other", one per row."""
    logits = _logits([[0, 5, 1, 0], [5, 1, 0, 0], [0, 1, 0, 5], [1, 2, 9, 0]])
    base_ids, source_ids = torch.tensor([0, 0, 0, 1]), torch.tensor([1, 1, 2, 2])
    expected = ["source", "base", "other", "source"]

    got = list(patch_outcome(logits, base_ids, source_ids))
    expect(len(got) == 4, f"Expected one outcome per row (4); got {len(got)}.")
    expect(all(isinstance(o, str) for o in got), f"Each outcome should be a string; got {got}.")
    expect(got == expected,
           f"Expected {expected}: the top token is the source's answer, the base's, or something else; got {got}.")
    passed("patch_outcome")
