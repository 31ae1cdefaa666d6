"""Is a found subspace what the network uses, or a patch that works through a pathway the network never uses
(the interpretability illusion of Makelov et al. 2023)? Diagnostics that depend on span(R_k) only, not on
the basis rows that happen to span it.

Notation: R_k [k, d] has orthonormal rows (a direction is k = 1); acts [n, d] are the layer's natural
(unpatched) activations, Sigma their covariance; the *natural variance* of a unit direction r is
r^T Sigma r / (trace(Sigma) / d), 1 being the layer's average per direction and 0 a dormant direction.

- `read_ignored_split` (chapter 4): split span(R_k) into the part the next layer reads (the row space of its
  weight W_next) and the part it ignores (W_next's null space), and report for each part its natural
  variance and the IIA of patching that part alone; the null fraction comes with its random-subspace baseline.
- `span_dormancy` (for a model whose next layer ignores no direction, e.g. a residual stream): the least
  natural variance inside span(R_k), against random subspaces of the same k.
- `answer_origins` / `answer_origins_after` (chapter 6, "Does the continent follow the country?"): after a
  swap, does another attribute's answer stay the base's, follow the source's, or become neither?
"""
import torch


def null_space(weight, tol=1e-8):
    """Orthonormal rows spanning the null space of `weight` ([m, d]): the directions the next layer ignores."""
    _, s, vh = torch.linalg.svd(weight.detach(), full_matrices=True)
    rank = int((s > tol * s.max()).sum())
    return vh[rank:]


def span_basis(vectors, tol=1e-8):
    """Orthonormal rows spanning the rows of `vectors` ([k, d]); [0, d] when they are all (near) zero."""
    _, s, vh = torch.linalg.svd(vectors, full_matrices=False)
    return vh[s > tol * max(1.0, s.max().item())]


def relative_covariance(acts):
    """Sigma / (trace(Sigma) / d) [d, d]: the covariance of acts [n, d], in units of the layer's average variance
    per direction (so r^T (this) r is a unit direction r's natural variance)."""
    centred = acts - acts.mean(0)
    sigma = centred.T @ centred / (len(acts) - 1)
    return sigma / (sigma.trace() / acts.shape[1])


def span_variance(acts, basis, sigma=None):
    """Eigenvalues (ascending, [j]) of basis Sigma basis^T relative to the layer's average variance per
    direction (trace(Sigma) / d): the natural variance along the principal directions inside span(basis).
    The first one is the least natural variance of any direction in the span; it does not depend on which
    orthonormal rows span it (per-row variances do). sigma: `relative_covariance(acts)`, to reuse; basis may
    also be a stack [m, k, d] of bases (then [m, j])."""
    sigma = relative_covariance(acts) if sigma is None else sigma
    return torch.linalg.eigvalsh(basis @ sigma @ basis.transpose(-1, -2))


def random_subspaces(d, k, n, seed, dtype=torch.float64):
    """n random [k, d] bases with orthonormal rows, uniform over k-dim subspaces (QR of Gaussian matrices)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, d, k, generator=g, dtype=dtype))
    return q.transpose(1, 2)


def read_ignored_split(basis, next_weight, acts, iia_alone, n_random=1000, seed=0):
    """One procedure for any span(R_k) (`basis`, [k, d]) at a layer read by `next_weight` ([m, d]):

        ignored part = span(R_k P_null)      read part = span(R_k (I - P_null))      P_null = N^T N, N = null_space(W_next)
        null fraction = ||R_k P_null||_F^2 / k   (the share of the span's squared length the next layer ignores)

    A random k-dim subspace has null fraction dim(null) / d on average; `null_fraction_random` is that mean
    with the 2.5% and 97.5% quantiles over n_random random subspaces. For each part: its dimension, the natural
    variance of its least and most varying directions (`span_variance` on acts, the unpatched activations),
    and iia_alone(part basis [j, d]): the score of patching that part alone, which should be one where doing
    nothing scores 0 (IIA on label-changing pairs).

    The illusion's signature (Makelov et al. 2023): the ignored part carries natural variance but does nothing
    alone, while the read part is dormant (no natural variance), so the patch works only by moving activations
    where they never go. `flags` reads it off the report."""
    k, d = basis.shape
    nb = null_space(next_weight).to(basis.dtype)
    p_null = nb.T @ nb
    randoms = random_subspaces(d, k, n_random, seed, basis.dtype)
    random_fractions = (randoms @ p_null).pow(2).sum((1, 2)) / k
    report = {"k": k, "d": d, "null_dim": len(nb),
              "null_fraction": ((basis @ p_null).pow(2).sum() / k).item(),
              "null_fraction_random": [random_fractions.mean().item(),
                                       *torch.quantile(random_fractions, torch.tensor([0.025, 0.975], dtype=basis.dtype)).tolist()]}
    for name, projected in (("read", basis - basis @ p_null), ("ignored", basis @ p_null)):
        part = span_basis(projected)
        variance = span_variance(acts, part) if len(part) else torch.zeros(0)
        report[name] = {"dim": len(part), "least_variance": variance.min().item() if len(part) else None,
                        "most_variance": variance.max().item() if len(part) else None,
                        "iia": iia_alone(part) if len(part) else None}
    return report


def flags(report, dormant=0.05, inert=0.05):
    """What `read_ignored_split`'s report shows, as booleans:
    dormant_read:        the read part has a direction with natural variance below `dormant`;
    disconnected_ignored: the ignored part varies (natural variance >= `dormant`) but patching it alone scores
                          at most `inert` (doing nothing scores 0);
    illusion:            both (Makelov et al.'s two ingredients);
    above_random_null:   the null fraction is above the 97.5% quantile of random subspaces'."""
    read, ignored = report["read"], report["ignored"]
    dormant_read = read["dim"] > 0 and read["least_variance"] < dormant
    disconnected = ignored["dim"] > 0 and ignored["most_variance"] >= dormant and ignored["iia"] <= inert
    return {"dormant_read": dormant_read, "disconnected_ignored": disconnected,
            "illusion": dormant_read and disconnected,
            "above_random_null": report["null_fraction"] > report["null_fraction_random"][2]}


def span_dormancy(acts, basis, n_random=1000, seed=0):
    """The least natural variance inside span(R_k) (basis [k, d]) against random k-dim subspaces:

        least = lambda_min(R_k Sigma R_k^T) / (trace(Sigma) / d),   Sigma from acts [n, d], n >= 2d

    Returns {"least": least, "random": [mean, 2.5% quantile, 97.5% quantile] of the same for n_random random
    subspaces (drawn 50 at a time, seeded seed, seed + 50, ...), "below_random": least < the 2.5% quantile}.
    A large k costs time (a QR and an eigendecomposition of k x k per random subspace): fewer n_random there.
    A span can hold a dormant direction while every basis row varies (rows (e_1 + e_2)/sqrt(2) and (e_1 - e_2)/sqrt(2) with e_1 dormant each have half e_2's
    variance): this check sees it, per-row variances (`metrics.natural_variance`) do not. It cannot see a
    pathway the next layer reads through directions the span does not contain, nor tell a dormant direction
    from one the sample of acts happens not to move."""
    n, d = acts.shape
    if n < 2 * d:
        raise ValueError(f"Sigma from {n} activations of size d = {d} is too noisy for its small eigenvalues: "
                         f"pass at least 2d = {2 * d} activations.")
    sigma = relative_covariance(acts)
    least = span_variance(acts, basis, sigma)[0].item()
    randoms = torch.cat([span_variance(acts, random_subspaces(d, len(basis), min(50, n_random - i), seed + i,
                                                              acts.dtype), sigma)[:, 0]
                         for i in range(0, n_random, 50)])  # 50 at a time: [50, k, d] stacks stay small
    lo, hi = torch.quantile(randoms, torch.tensor([0.025, 0.975], dtype=randoms.dtype)).tolist()
    return {"least": least, "random": [randoms.mean().item(), lo, hi], "below_random": least < lo}


def answer_origins(patched_ids, base_ids, source_ids, base, source, n_boot=1000, seed=0):
    """Where the patched answers come from, on pairs whose base and source answers differ (first tokens):

        base    = share of pairs with patched_i = base_i      (the base's value stayed: Isolate)
        source  = share with patched_i = source_i             (the source's value came along)
        neither = 1 - base - source                           (some third answer)

    patched_ids, base_ids, source_ids: [n] token ids per pair; base, source: the pairs' entity names. Pairs with
    base_i == source_i are left out (either answer would be both). Returns {"n_pairs", "base", "source",
    "neither", and <share>_ci: its entity-bootstrap 95% interval (metrics.entity_interval)}."""
    from .metrics import entity_interval

    patched_ids, base_ids, source_ids = (torch.as_tensor(x).reshape(-1) for x in (patched_ids, base_ids, source_ids))
    if not len(patched_ids) == len(base_ids) == len(source_ids) == len(base) == len(source):
        raise ValueError(f"One entry per pair in each of patched_ids, base_ids, source_ids, base and source; got "
                         f"{[len(x) for x in (patched_ids, base_ids, source_ids, base, source)]}.")
    differ = (base_ids != source_ids).numpy()
    if not differ.any():
        raise ValueError("No pair has different base and source answers: build the pairs with "
                         "dc.make_pairs(..., attribute=<the attribute asked>) or filter with dc.isolate_pairs.")
    names = [[name for name, keep in zip(side, differ) if keep] for side in (base, source)]
    hits = {"base": (patched_ids == base_ids).numpy()[differ], "source": (patched_ids == source_ids).numpy()[differ]}
    hits["neither"] = ~(hits["base"] | hits["source"])
    report = {"n_pairs": int(differ.sum())}
    for name, h in hits.items():
        report[name] = float(h.mean())
        report[f"{name}_ci"] = entity_interval(h, *names, n_boot=n_boot, seed=seed)
    return report


def answer_origins_after(model, pairs, layer, swap, attribute="continent", states=None):
    """`answer_origins` of the answers to `attribute`'s question after h_base -> swap(h_base, h_source) at
    `layer` (h_source from the source's prompt for `attribute`, as Isolate takes it), on the pairs whose base
    and source `attribute` differ (dc.isolate_pairs). E.g. a country swap asked for the continent: does the
    continent stay the base's, follow the source, or become neither?"""
    from .pairs import answer_ids, isolate_pairs, patch_pairs

    pairs = isolate_pairs(model, pairs, attribute)
    with torch.no_grad():
        patched = patch_pairs(model, pairs, layer, swap, attribute, states=states).argmax(-1)
    return answer_origins(patched, answer_ids(model, pairs[f"base_{attribute}"]),
                          answer_ids(model, pairs[f"source_{attribute}"]), pairs["base"], pairs["source"])
