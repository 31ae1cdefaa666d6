"""Checks for chapter 3's exercises (rotated-subspace patching). They need no model."""
import torch

from . import check, expect, passed


def _orthogonal(d, seed):
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def _reference_swap(h_base, h_source, R, k):
    return torch.cat([(h_source @ R.T)[..., :k], (h_base @ R.T)[..., k:]], dim=-1) @ R


def _cases():
    for d, k, seed in [(4, 1, 0), (6, 3, 1), (8, 8, 2), (16, 5, 3)]:
        g = torch.Generator().manual_seed(100 + seed)
        h_base = torch.randn(3, d, generator=g, dtype=torch.float64)
        h_source = torch.randn(3, d, generator=g, dtype=torch.float64)
        yield d, k, h_base, h_source, _orthogonal(d, seed)


@check
def check_rotate_swap_rotate_back(rotate_swap_rotate_back):
    """rotate_swap_rotate_back(h_base, h_source, R, k) = R^T [ (R h_source)_{:k} ; (R h_base)_{k:} ]."""
    for d, k, h_base, h_source, R in _cases():
        got = rotate_swap_rotate_back(h_base, h_source, R, k)
        expect(tuple(got.shape) == tuple(h_base.shape),
               f"d={d}, k={k}: expected shape {tuple(h_base.shape)} (one h' per row), got {tuple(got.shape)}.")
        want = _reference_swap(h_base, h_source, R, k)
        expect(torch.allclose(got, want, atol=1e-9),
               f"d={d}, k={k}: wrong h'. Rotate each row (h @ R.T gives the rotated coordinates R h), take the "
               f"first k rotated coordinates from h_source and the rest from h_base, then rotate back (@ R).")
    d, _, h_base, h_source, R = next(_cases())
    expect(torch.allclose(rotate_swap_rotate_back(h_base, h_source, R, d), h_source, atol=1e-9),
           "With k = d every coordinate comes from the source, so h' must equal h_source.")
    passed("rotate_swap_rotate_back")


@check
def check_low_rank_swap(low_rank_swap):
    """low_rank_swap(h_base, h_source, R_k) = h_base + R_k^T R_k (h_source - h_base), for R_k = R[:k]."""
    for d, k, h_base, h_source, R in _cases():
        got = low_rank_swap(h_base, h_source, R[:k])
        expect(tuple(got.shape) == tuple(h_base.shape),
               f"d={d}, k={k}: expected shape {tuple(h_base.shape)}, got {tuple(got.shape)}.")
        want = _reference_swap(h_base, h_source, R, k)
        expect(torch.allclose(got, want, atol=1e-9),
               f"d={d}, k={k}: low_rank_swap differs from rotate-swap-rotate-back with the same first k rows. "
               f"Project the difference h_source - h_base onto the rows of R_k (R_k^T R_k) and add it to h_base.")
    passed("low_rank_swap")
