import pytest
import torch

import dascourse as dc

from dascourse.checks import CheckFailed
from dascourse.checks.evaluation import check_isolate, check_pca_directions
from dascourse.baselines import pca_directions, subspace
from dascourse.interventions import FullPatch
from dascourse.metrics import scores
from dascourse.interventions import RotatedSubspace

ATTRIBUTES = ["country", "continent", "language"]


@pytest.fixture(scope="module")
def pairs(model):
    return dc.make_pairs(model, dc.known_facts(model, ATTRIBUTES), n=12, seed=0)


def test_patch_pairs_matches_dc_patch_in_any_template(model, pairs):
    rows = pairs.iloc[:4]
    torch.manual_seed(0)
    swap = RotatedSubspace(model.config.hidden_size, 16)
    h_source = dc.hidden_at_city(model, [dc.make_prompt(c, "language", 2) for c in rows.source], list(rows.source), 10)
    prompts = [dc.make_prompt(c, "language", 2) for c in rows.base]
    with torch.no_grad():
        want = dc.patch(model, prompts, list(rows.base), 10, lambda h_base: swap(h_base, h_source))
        got = dc.patch_pairs(model, rows, 10, swap, "language", template=2)
    assert (want - got).abs().max() < 1e-3
    assert torch.equal(want.argmax(-1), got.argmax(-1))


def test_scores_of_no_patch_and_full_patch(model, pairs):
    nothing = scores(model, pairs, 12, lambda h_base, h_source: h_base, n_isolate=4)
    # Known facts, sources with another country: without a patch no answer moves.
    assert nothing["cause"] == 0.0
    assert nothing["isolate"] == {"continent": 1.0, "language": 1.0, "mean": 1.0}
    assert nothing["disentangle"] == 0.5
    assert nothing["n_pairs"] == len(pairs)
    assert all(1 <= n <= 4 for n in nothing["n_isolate"].values())
    full = scores(model, pairs, 12, FullPatch(), n_isolate=4)
    assert full["cause"] > 0.5 and full["isolate"]["mean"] < 0.5


def test_scores_bad_input(model, pairs):
    with pytest.raises(ValueError, match="base_language"):
        scores(model, pairs.drop(columns=["base_language"]), 12, FullPatch())
    with pytest.raises(ValueError, match="keep='continent'"):
        scores(model, pairs, 12, FullPatch(), keep="continent")


def test_subspace_of_basis_vectors_is_a_neuron_patch():
    g = torch.Generator().manual_seed(0)
    h_base, h_source = torch.randn(2, 5, 16, generator=g)
    neurons = [3, 0, 11]
    mask = torch.zeros(16)
    mask[neurons] = 1.0
    swap = subspace(torch.eye(16)[neurons])
    assert torch.allclose(swap(h_base, h_source), dc.neuron_patch(h_base, h_source, mask), atol=1e-6)
    with pytest.raises(ValueError, match="orthonormal"):
        subspace(2 * torch.eye(16)[neurons])


def test_pca_directions_and_its_check():
    check_pca_directions(pca_directions)
    with pytest.raises(CheckFailed):  # the directions of h_source alone are the wrong subspace
        check_pca_directions(lambda h_base, h_source, k: torch.linalg.svd(h_source, full_matrices=False).Vh[:k])
    with pytest.raises(ValueError, match="at least k pairs"):
        pca_directions(torch.zeros(2, 8), torch.ones(2, 8), 3)


def test_isolate_check():
    def isolate(patched, base, source):
        kept = [p == b for p, b, s in zip(patched, base, source) if b != s]
        return sum(kept) / len(kept)

    check_isolate(isolate)
    with pytest.raises(CheckFailed):  # counts pairs whose base and source agree, too
        check_isolate(lambda patched, base, source: sum(p == b for p, b in zip(patched, base)) / len(base))
