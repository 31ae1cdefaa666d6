"""Checks for chapter 6's exercises (evaluating DAS). They need no model."""
import torch

from . import expect, passed


def check_isolate(isolate):
    """isolate(patched, base, source) = among the pairs whose base and source answers differ, the share
    whose patched answer is still the base's."""
    base = ["Europe", "Asia", "Europe", "Africa", "Asia"]
    cases = [  # (source, patched, expected)
        (["Asia", "Asia", "Africa", "Europe", "Europe"], ["Europe", "Asia", "Africa", "Africa", "Asia"], 0.75),
        (["Asia", "Europe", "Africa", "Europe", "Europe"], ["Europe", "Asia", "Europe", "Africa", "Asia"], 1.0),
        (["Asia", "Europe", "Africa", "Europe", "Europe"], ["Asia", "Europe", "Africa", "Europe", "Europe"], 0.0),
        (["Asia", "Europe", "Europe", "Europe", "Europe"], ["Asia", "Europe", "Europe", "Africa", "Asia"], 0.5),
    ]
    for source, patched, want in cases:
        got = isolate(patched, base, source)
        expect(abs(float(got) - want) < 1e-6,
               f"base {base}, source {source}, patched {patched}: expected {want:.3f}, got {float(got):.3f}. Count "
               f"only the pairs whose base and source differ; among them, the share whose patched answer is the base's.")
    passed("isolate")


def check_pca_directions(pca_directions):
    """pca_directions(h_base, h_source, k) -> R_k [k, d]: orthonormal rows spanning the top-k principal
    directions of h_source - h_base (uncentred)."""
    g = torch.Generator().manual_seed(0)
    d, n = 12, 40
    # Differences with a clear ranking of directions: strong along 3 axes, weaker along the rest.
    basis = torch.linalg.qr(torch.randn(d, d, generator=g)).Q
    scales = torch.tensor([9.0, 5.0, 3.0] + [0.3] * (d - 3))
    diff = (torch.randn(n, d, generator=g) * scales) @ basis.T
    h_base = torch.randn(n, d, generator=g)
    h_source = h_base + diff
    for k in (1, 2, 3):
        R_k = pca_directions(h_base, h_source, k)
        expect(tuple(R_k.shape) == (k, d), f"k={k}: R_k should have shape ({k}, {d}), got {tuple(R_k.shape)}.")
        expect(torch.allclose(R_k @ R_k.T, torch.eye(k), atol=1e-4),
               f"k={k}: the rows of R_k are not orthonormal (R_k R_k^T should be the identity).")
        want = torch.linalg.svd(diff, full_matrices=False).Vh[:k]
        expect(torch.allclose(R_k.T @ R_k, want.T @ want, atol=1e-3),
               f"k={k}: R_k spans the wrong subspace. Take the top-k right singular vectors of the matrix of "
               f"differences h_source - h_base (rows = pairs); do not use h_base or h_source alone.")
    passed("pca_directions")
