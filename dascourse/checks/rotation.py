"""Checks for chapter 3's exercises (rotated-subspace patching). They need no model."""
import torch

from . import as_tensor, call, check, expect, passed


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


def _same_shape(got, h_base, d, k):
    expect(tuple(got.shape) == tuple(h_base.shape),
           f"d={d}, k={k}: expected shape {tuple(h_base.shape)} (one h' per row of h_base), got {tuple(got.shape)}."
           + (" Your function handles a batch of one: keep every row." if got.numel() == d else ""))


ROWS = "Rows are vectors: h is [B, d], so R h is h @ R.T ([B, d]) and rotating back, R^T z, is z @ R."


@check
def check_rotate_swap_rotate_back(rotate_swap_rotate_back):
    """rotate_swap_rotate_back(h_base, h_source, R, k) = R^T [ (R h_source)_{:k} ; (R h_base)_{k:} ]."""
    name = "rotate_swap_rotate_back"
    for d, k, h_base, h_source, R in _cases():
        got = as_tensor(call(rotate_swap_rotate_back, h_base, h_source, R, k, hint=ROWS), name, "h' [B, d]").double()
        _same_shape(got, h_base, d, k)
        want = _reference_swap(h_base, h_source, R, k)
        if k < d:
            expect(not torch.allclose(got, _reference_swap(h_base, h_source, R.T, k), atol=1e-9),
                   f"d={d}, k={k}: you rotated with R^T and back with R (h @ R, then @ R.T). {ROWS}")
            expect(not torch.allclose(got, _reference_swap(h_source, h_base, R, k), atol=1e-9),
                   f"d={d}, k={k}: base and source are swapped: the first k rotated coordinates come from "
                   "h_source, the other d - k from h_base.")
        expect(torch.allclose(got, want, atol=1e-9),
               f"d={d}, k={k}: wrong h'. Rotate each row (h @ R.T gives the rotated coordinates R h), take the "
               f"first k rotated coordinates from h_source and the rest from h_base, then rotate back (@ R).")
    d, _, h_base, h_source, R = next(_cases())
    got = as_tensor(call(rotate_swap_rotate_back, h_base, h_source, R, d, hint=ROWS), name, "h' [B, d]").double()
    expect(torch.allclose(got, h_source, atol=1e-9),
           "With k = d every coordinate comes from the source, so h' must equal h_source.")
    passed(name)


@check
def check_low_rank_swap(low_rank_swap):
    """low_rank_swap(h_base, h_source, R_k) = h_base + R_k^T R_k (h_source - h_base), for R_k = R[:k]."""
    name = "low_rank_swap"
    shapes = ("R_k is [k, d]: its k rows span the subspace. For rows h ([B, d]), R_k h is h @ R_k.T ([B, k]) "
              "and R_k^T z is z @ R_k ([B, d]).")
    for d, k, h_base, h_source, R in _cases():
        got = as_tensor(call(low_rank_swap, h_base, h_source, R[:k], hint=shapes), name, "h' [B, d]").double()
        _same_shape(got, h_base, d, k)
        want = _reference_swap(h_base, h_source, R, k)
        diff = h_source - h_base
        if k < d:
            expect(not torch.allclose(got, h_base - diff @ R[:k].T @ R[:k], atol=1e-9),
                   f"d={d}, k={k}: wrong sign: the swap *adds* the projected difference, "
                   "h_base + R_k^T R_k (h_source - h_base).")
            expect(not torch.allclose(got, h_source + (h_base - h_source) @ R[:k].T @ R[:k], atol=1e-9),
                   f"d={d}, k={k}: base and source are swapped (or the complement I - R_k^T R_k was swapped): "
                   "start from h_base and add the part of h_source - h_base in the subspace R_k's rows span.")
        expect(torch.allclose(got, want, atol=1e-9),
               f"d={d}, k={k}: low_rank_swap differs from rotate-swap-rotate-back with the same first k rows. "
               f"Project the difference h_source - h_base onto the rows of R_k (R_k^T R_k) and add it to h_base.")
    square = torch.randn(2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    R = _orthogonal(4, 0)
    got = as_tensor(call(low_rank_swap, square[:1], square[1:], R[:4], hint=shapes), name, "h' [1, d]").double()
    expect(torch.allclose(got, square[1:], atol=1e-9),
           "With k = d (R_k = all of R) the swap must give h_source: R^T R = I.")
    passed(name)
