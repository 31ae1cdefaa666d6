"""Boundless DAS (chapter 7): let training choose the subspace's size k as well as its direction.

DAS swaps the first k coordinates of R h for a k we fix. Boundless DAS (Wu et al. 2023; pyvene's
BoundlessRotatedSpaceIntervention) rotates with a full orthogonal R (d x d) and swaps rotated
coordinate i by a soft amount m_i between 0 and 1, set by a learnt boundary b:

    m_i = sigmoid((b - i) / temperature),   i = 0 .. d-1
    h' = R^T [ m * (R h_source) + (1 - m) * (R h_base) ]  =  h_base + R^T diag(m) R (h_source - h_base)

Coordinates well below b are swapped (m_i ~ 1), those well above are kept (m_i ~ 0). A high
temperature makes the edge soft, so the loss reaches b through many coordinates; a low one makes m
almost a 0/1 mask, the swap of chapter 3 with k = the number of i < b. Training anneals the
temperature from high to low, and adds penalty_weight * b / d to the loss so that, of two boundaries
that move the answer equally well, the smaller wins.
"""
import torch

from .rotation import RotatedSubspace, check_states


class BoundlessSubspace(RotatedSubspace):
    """A full rotation R (a RotatedSubspace with k = d, so R = R_k) and a learnt soft boundary b.

        forward(h_base, h_source) = h_base + R^T diag(m) R (h_source - h_base),  m_i = sigmoid((b - i) / t)

    boundary: where b starts, as a fraction of d. The parameter `boundary` holds b / d, so that one
    optimizer step moves b by a similar share of d whatever d is.
    temperatures: (first, last) temperature; `anneal(fraction)` goes between them geometrically,
    t = first * (last / first) ** fraction. das.train_das calls it before each step and adds `penalty()`.
    """

    def __init__(self, d, boundary=0.5, temperatures=(50.0, 0.1), penalty_weight=1.0):
        # The Cayley map, a linear solve, costs a tenth of torch's default for a square R (the matrix
        # exponential: 0.4 s per step at d = 576 on 2 CPU cores) and starts from the same R.
        super().__init__(d, d, orthogonal_map="cayley")
        if not 0 < boundary <= 1:
            raise ValueError(f"boundary={boundary!r} is a fraction of d: pick a start in (0, 1], e.g. 0.5.")
        first, last = temperatures
        if not first >= last > 0:
            raise ValueError(f"temperatures={temperatures!r} must go from high to low, both > 0, e.g. (50.0, 0.1).")
        self.temperatures, self.penalty_weight = (first, last), penalty_weight
        self.boundary = torch.nn.Parameter(torch.tensor(float(boundary)))
        self.register_buffer("coords", torch.arange(d, dtype=torch.float32))
        self.temperature = first

    @property
    def R(self):
        """The full d x d rotation."""
        return self.R_k

    @property
    def b(self):
        """The boundary in coordinates: b = d * boundary."""
        return self.d * self.boundary

    def mask(self):
        """m_i = sigmoid((b - i) / temperature) for i = 0 .. d-1."""
        return torch.sigmoid((self.b - self.coords) / self.temperature)

    @property
    def learnt_k(self):
        """How many rotated coordinates are swapped more than half (m_i > 0.5, i.e. i < b)."""
        return int((self.mask() > 0.5).sum())

    def anneal(self, fraction):
        """Set the temperature for a point `fraction` (0 to 1) of the way through training."""
        first, last = self.temperatures
        self.temperature = first * (last / first) ** fraction

    def penalty(self):
        """penalty_weight * b / d: a price on the subspace's size."""
        return self.penalty_weight * self.boundary

    def forward(self, h_base, h_source):
        check_states(h_base, h_source, self.d)
        R = self.R
        return h_base + ((h_source - h_base) @ R.T * self.mask()) @ R

    def extra_repr(self):
        return f"d={self.d}, b={self.b.item():.1f}, temperature={self.temperature:.3g}"
