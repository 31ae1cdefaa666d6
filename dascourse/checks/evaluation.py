"""Checks for chapter 6's exercises (evaluating DAS). They need no model."""
import torch

from . import call, check, expect, passed


@check
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
        case = f"base {base}, source {source}, patched {patched}"
        got = call(isolate, patched, base, source, case=case, hint="The three arguments are lists of answers.")
        expect(isinstance(got, (int, float)) or (torch.is_tensor(got) and got.numel() == 1),
               f"{case}: return one number, the share; got {type(got).__name__}.")
        got = float(got)
        differ = [(p, b, s) for p, b, s in zip(patched, base, source) if b != s]
        wrong = {
            "counted every pair, also those whose base and source agree (where keeping the base's answer is "
            "free); count only the pairs whose answers differ":
                sum(p == b for p, b in zip(patched, base)) / len(base),
            "returned the number of kept answers; Isolate is their share: divide by the number of pairs whose "
            "answers differ": float(sum(p == b for p, b, _ in differ)),
            "computed the share whose patched answer became the SOURCE's (that is Cause); Isolate counts the "
            "answers that stayed the BASE's": sum(p == s for p, _, s in differ) / len(differ),
            "divided by all the pairs; divide by the number of pairs whose base and source differ":
                sum(p == b for p, b, _ in differ) / len(base),
        }
        for mistake, value in wrong.items():
            expect(abs(got - want) < 1e-6 or abs(got - value) > 1e-6,
                   f"{case}: expected {want:.3f}, got {got:.3f}: you {mistake}.")
        expect(abs(got - want) < 1e-6,
               f"{case}: expected {want:.3f}, got {got:.3f}. Count only the pairs whose base and source differ; "
               f"among them, the share whose patched answer is the base's.")
    passed("isolate")


def _differences(n, d, offset, generator):
    """h_base, h_source [n, d] whose differences have a clear ranking of directions (strong along 3 axes,
    weak along the rest) plus a constant offset, so that centring them would change the answer."""
    basis = torch.linalg.qr(torch.randn(d, d, generator=generator)).Q
    scales = torch.tensor([9.0, 5.0, 3.0] + [0.3] * (d - 3))
    diff = (torch.randn(n, d, generator=generator) * scales) @ basis.T + offset * basis[:, -1]
    h_base = torch.randn(n, d, generator=generator)
    return h_base, h_base + diff


def _projector(rows):
    return rows.T @ rows


@check
def check_pca_directions(pca_directions):
    """pca_directions(h_base, h_source, k) -> R_k [k, d]: orthonormal rows spanning the top-k principal
    directions of h_source - h_base (uncentred)."""
    g = torch.Generator().manual_seed(0)
    d = 12
    h_base, h_source = _differences(40, d, offset=7.0, generator=g)
    cases = [(f"N=40 pairs, d={d}, k={k}", h_base, h_source, k) for k in (1, 2, 3, 4)]
    cases.append((f"one pair (N=1), d={d}, k=1", h_base[:1], h_source[:1], 1))
    for case, h_b, h_s, k in cases:
        n = len(h_b)
        R_k = call(pca_directions, h_b, h_s, k, case=case,
                   hint="torch.linalg.svd(diff, full_matrices=False) returns U [N, r], S [r], Vh [r, d]: the "
                        "directions in the d-dim space are the rows of Vh.")
        shape = tuple(R_k.shape) if torch.is_tensor(R_k) else None
        expect(shape != (d, k) or d == k, f"{case}: you returned a [d, k] = {(d, k)} tensor, R_k transposed (columns "
                                          f"of V). Return [k, d] = {(k, d)}, one direction per row: Vh[:k].")
        expect(shape not in ((n, k), (k, n)) or n == d,
               f"{case}: got shape {shape}: one entry per pair, so these are left singular vectors (U). The "
               f"directions live in the d-dim space of h: the rows of Vh.")
        expect(shape == (k, d), f"{case}: R_k should have shape ({k}, {d}), got {shape or type(R_k).__name__}.")
        R_k = R_k.detach().float()
        expect(torch.allclose(R_k @ R_k.T, torch.eye(k), atol=1e-4),
               f"{case}: the rows of R_k are not orthonormal (R_k R_k^T should be the identity); rows of Vh are, "
               f"rows scaled by the singular values are not.")
        diff = h_s - h_b
        want = torch.linalg.svd(diff, full_matrices=False).Vh[:k]
        if n > k:
            centred = torch.linalg.svd(diff - diff.mean(0), full_matrices=False).Vh[:k]
            expect(not torch.allclose(_projector(R_k), _projector(centred), atol=1e-3),
                   f"{case}: you centred the differences (subtracted their mean). Do not: the patch adds "
                   f"h_source - h_base itself, mean included, so R_k must hold most of its squared length.")
            least = torch.linalg.svd(diff, full_matrices=False).Vh[-k:]
            expect(not torch.allclose(_projector(R_k), _projector(least), atol=1e-3),
                   f"{case}: you took the k directions with the LEAST length (torch.linalg.eigh sorts eigenvalues "
                   f"in ascending order); take the top k: Vh[:k] of an SVD.")
        expect(torch.allclose(_projector(R_k), _projector(want), atol=1e-3),
               f"{case}: R_k spans the wrong subspace. Take the top-k right singular vectors of the matrix of "
               f"differences h_source - h_base (rows = pairs); do not use h_base or h_source alone.")
    passed("pca_directions")


# ---------------------------------------------------------------- chapter 6: the learned neuron mask


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
        trainable = logits.clone().requires_grad_(True)
        out = call(mask_swap, h_base, h_source, trainable, temperature, case=case,
                   hint="The arguments are tensors [n, d], [n, d], [d] and a float; torch.sigmoid and broadcasting "
                        "do the rest.")
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
