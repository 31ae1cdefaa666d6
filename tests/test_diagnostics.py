"""dascourse.diagnostics on synthetic activations whose answer is known (no model)."""
import pytest
import torch

from dascourse import diagnostics
from dascourse.metrics import natural_variance

D = 8


def activations(n=4000, dormant=(0,), seed=0):
    """n activations [n, D] with unit variance on every coordinate except the `dormant` ones (always 0)."""
    acts = torch.randn(n, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    acts[:, list(dormant)] = 0
    return acts


def test_span_check_catches_a_dormant_direction_that_per_row_variance_misses():
    acts = activations()
    e = torch.eye(D, dtype=torch.float64)
    hidden = torch.stack([e[0] + e[1], e[0] - e[1]]) / 2 ** 0.5  # span(e_0, e_1): e_0 dormant, each row varies
    rows = natural_variance(acts, hidden)
    assert rows.min() > 0.4  # each row has half e_1's variance: the per-row check sees nothing wrong
    report = diagnostics.span_dormancy(acts, hidden)
    assert report["least"] < 1e-12 and report["below_random"]
    healthy = diagnostics.span_dormancy(acts, torch.stack([e[1] + e[2], e[1] - e[2]]) / 2 ** 0.5)
    assert healthy["least"] > 0.8 and not healthy["below_random"]
    assert diagnostics.span_variance(acts, hidden)[0] == pytest.approx(report["least"])


def test_span_check_is_basis_free():
    acts = activations(dormant=())
    g = torch.Generator().manual_seed(1)
    basis = diagnostics.random_subspaces(D, 3, 1, seed=2)[0]
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    assert torch.allclose(diagnostics.span_variance(acts, basis), diagnostics.span_variance(acts, q @ basis))


def test_span_check_needs_enough_activations():
    with pytest.raises(ValueError, match="at least 2d = 16"):
        diagnostics.span_dormancy(activations(n=10), torch.eye(D, dtype=torch.float64)[:2])


def test_split_flags_makelov_geometry_and_not_a_real_direction():
    # The next layer reads e_0 (dormant) and e_2; it ignores e_1 (varies, disconnected) and e_3..e_7.
    acts = activations()
    e = torch.eye(D, dtype=torch.float64)
    next_weight = torch.stack([e[0], e[2]])
    does = {0: 0.9, 2: 0.9}  # a stand-in for IIA alone: a part works if it reads e_0 or e_2 (else 0)

    def iia_alone(part):
        return max(does.get(i, 0.0) for i in range(D) if part[:, i].abs().max() > 1e-9)

    v = ((e[1] + e[0]) / 2 ** 0.5)[None]
    report = diagnostics.read_ignored_split(v, next_weight, acts, iia_alone)
    assert report["null_fraction"] == pytest.approx(0.5)
    assert report["null_fraction_random"][0] == pytest.approx(6 / 8, abs=0.02)  # dim(null) / d
    assert report["read"]["least_variance"] < 1e-12 and report["ignored"]["most_variance"] > 0.8
    assert diagnostics.flags(report)["illusion"]
    real = diagnostics.read_ignored_split(((e[2] + e[3]) / 2 ** 0.5)[None], next_weight, acts,
                                          lambda part: 0.0 if part[:, 2].abs().max() < 1e-9 else 0.9)
    assert not diagnostics.flags(real)["dormant_read"] and not diagnostics.flags(real)["illusion"]
