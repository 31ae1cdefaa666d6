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


# ---------------------------------------------------------------- chapter 6: the learned neuron mask
from . import check  # noqa: E402 (this section was appended; the decorator of the chapter's newer checks)


def _mask_case(generator, n=3, d=6):
    h_base, h_source = torch.randn(n, d, generator=generator), torch.randn(n, d, generator=generator)
    logits = torch.tensor([2.0, -1.0, 0.0, 0.5, -3.0, 1.0][:d])
    return h_base, h_source, logits


@check
def check_mask_swap(mask_swap):
    """mask_swap(h_base, h_source, logits, temperature) = h_base + sigmoid(logits / temperature) * (h_source - h_base),
    differentiable in logits, inputs unchanged."""
    g = torch.Generator().manual_seed(0)
    h_base, h_source, logits = _mask_case(g)
    for temperature in (1.0, 0.1):
        case = f"h_base, h_source [3, 6], logits {logits.tolist()}, temperature {temperature}"
        before = [t.clone() for t in (h_base, h_source, logits)]
        trainable = logits.clone().requires_grad_(True)
        try:
            out = mask_swap(h_base, h_source, trainable, temperature)
        except NotImplementedError:
            raise
        except Exception as err:  # a learner's slip, not a crash of the course: say what was called
            expect(False, f"{case}: mask_swap raised {type(err).__name__}: {err}. The arguments are tensors "
                          f"[n, d], [n, d], [d] and a float; torch.sigmoid and broadcasting do the rest.")
        expect(all(torch.equal(a, b) for a, b in zip(before, (h_base, h_source, logits))),
               f"{case}: mask_swap changed its inputs in place (e.g. h_base += ...). Build h' as a new tensor: "
               f"h_base + m * (h_source - h_base).")
        expect(torch.is_tensor(out) and tuple(out.shape) == tuple(h_base.shape),
               f"{case}: return h' with h_base's shape {tuple(h_base.shape)}, got "
               f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}.")
        m = torch.sigmoid(logits / temperature)
        want = h_base + m * (h_source - h_base)
        wrong = {
            "swapped the roles of base and source (h_source + m * (h_base - h_source)): m is the share of each "
            "neuron taken FROM the source": h_source + m * (h_base - h_source),
            "used sigmoid(logits), without the temperature: divide the logits by it, m = sigmoid(logits / "
            "temperature)": h_base + torch.sigmoid(logits) * (h_source - h_base),
            "multiplied the logits by the temperature; divide: a low temperature must make m nearly 0/1":
                h_base + torch.sigmoid(logits * temperature) * (h_source - h_base),
            "used a hard 0/1 mask (logits > 0) while training: it has no gradient, so the logits never learn; "
            "use the soft m = sigmoid(logits / temperature)": h_base + (logits > 0).float() * (h_source - h_base),
            "used the logits themselves as the mask; squash them with torch.sigmoid first":
                h_base + logits * (h_source - h_base),
        }
        for mistake, value in wrong.items():
            expect(torch.allclose(out.detach(), want, atol=1e-5) or not torch.allclose(out.detach(), value, atol=1e-5),
                   f"{case}: you {mistake}.")
        expect(torch.allclose(out.detach(), want, atol=1e-5),
               f"{case}: h' is wrong (largest error {(out.detach() - want).abs().max():.3g}). Expected h_base + m * "
               f"(h_source - h_base) with m = sigmoid(logits / temperature), one m_i per neuron (the last dim).")
        expect(out.requires_grad, f"{case}: h' carries no gradient to the logits (detached, or built with "
                                  f"torch.no_grad / .item()): training could not move the mask.")
    passed("mask_swap")
