"""Rotated-subspace patching (chapter 3): swap k coordinates of h in a rotated basis.

With an orthogonal d x d matrix R, rotate both vectors, take the first k rotated coordinates from the
source and the rest from the base, and rotate back:

    h' = R^T [ (R h_source)_{:k} ; (R h_base)_{k:} ]

Only the first k rows of R (call them R_k, a k x d matrix with orthonormal rows) change anything:
the swap adds to h_base the part of (h_source - h_base) inside the span of those rows,

    h' = h_base + R_k^T R_k (h_source - h_base)

so we store and train R_k alone (pyvene's LowRankRotatedSpaceIntervention does the same): k * d
numbers instead of d * d, and no d x d matrix product per step.
"""
import torch
from torch import nn
from torch.nn.utils.parametrizations import orthogonal


def check_states(h_base, h_source, d):
    """h_base and h_source must be [..., d] tensors of the same shape (what every swap module takes)."""
    if h_base.shape != h_source.shape or h_base.shape[-1] != d:
        raise ValueError(
            f"h_base {tuple(h_base.shape)} and h_source {tuple(h_source.shape)} must have the same "
            f"shape, ending in d = {d}."
        )


def check_k(k, d):
    if not (isinstance(k, int) and 1 <= k <= d):
        raise ValueError(f"k={k!r} is out of range: the subspace needs 1 <= k <= d = {d} dimensions.")


class RotatedSubspace(nn.Module):
    """Swap a k-dimensional subspace of h from the source into the base.

        forward(h_base, h_source) = h_base + R_k^T R_k (h_source - h_base)

    which equals R^T [ (R h_source)_{:k} ; (R h_base)_{k:} ] for any orthogonal R whose first k
    rows are R_k. R_k (shape [k, d]) starts as random orthonormal rows (seed torch first for a
    reproducible start) and stays orthonormal while it trains, through torch's orthogonal
    parametrization (orthogonal_map: which of its maps; None takes torch's default). h_base and h_source
    are [..., d] tensors of the same shape.
    """

    def __init__(self, d, k, orthogonal_map=None):
        super().__init__()
        check_k(k, d)
        self.d, self.k = d, k
        # nn.Linear(d, k) holds a [k, d] weight; the parametrization keeps its rows orthonormal (torch's
        # default map: Householder reflections for k < d, the matrix exponential for k = d).
        self.rotate = orthogonal(nn.Linear(d, k, bias=False), orthogonal_map=orthogonal_map)

    @property
    def R_k(self):
        """The k rows of the rotation that span the swapped subspace: a [k, d] tensor."""
        return self.rotate.weight

    def forward(self, h_base, h_source):
        check_states(h_base, h_source, self.d)
        R_k = self.R_k
        # R_k stays float32 (it trains) and may sit on the CPU while a model on a GPU runs in bfloat16:
        # compute in R_k's dtype and device, and hand back h' in h_base's.
        delta = (h_source - h_base).to(R_k) @ R_k.T @ R_k
        return h_base + delta.to(h_base)

    def extra_repr(self):
        return f"d={self.d}, k={self.k}"
