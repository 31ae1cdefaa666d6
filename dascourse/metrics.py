"""How well an intervention does what it should, on counterfactual pairs (chapters 1, 5 and 6).

    IIA         = interchange intervention accuracy: the share of pairs whose patched top answer is
                  the target (the source's value)
For RAVEL's scores, with a swap h' = swap(h_base, h_source) at `layer`:
    Cause       = IIA on the target attribute: the base prompt now answers the source's value
    Isolate[a]  = for a kept attribute a, among pairs whose base and source differ in a: the share
                  whose answer to the prompt asking for a is still the base's value
    Disentangle = (Cause + mean over a of Isolate[a]) / 2

Pairs share entities (each city is the base or the source of many pairs), so a pair score's error
bar must come from resampling entities, not pairs: `entity_interval`.

Every method is judged the same way: DAS, the baselines (baselines.py) and full patching are all
interventions with the call shape swap(h_base, h_source).
"""
import numpy as np
import pandas as pd
import torch

from .pairs import answer_ids, check_pair_columns, isolate_pairs, patch_pairs


def hits(logits: torch.Tensor, targets) -> torch.Tensor:
    """[n] bool: row i's top logit is its target token (the pairs IIA counts)."""
    if len(logits) != len(targets):
        raise ValueError(f"{len(logits)} rows of logits but {len(targets)} targets.")
    if len(targets) == 0:
        raise ValueError("No rows given: pass the logits of at least one pair and its target token id.")
    return (logits.argmax(-1) == torch.as_tensor(targets, device=logits.device)).cpu()


def iia(logits: torch.Tensor, targets) -> float:
    """Interchange intervention accuracy: the share of rows whose top logit is the target token."""
    return hits(logits, targets).float().mean().item()


def isolate_from_answers(patched: list, base: list, source: list) -> float:
    """Isolate from answers (exercise 6.1): among the pairs whose base and source answers differ, the share
    whose patched answer is still the base's. patched, base, source: one answer per pair."""
    kept = [p == b for p, b, s in zip(patched, base, source) if b != s]
    if not kept:
        raise ValueError("No pair's base and source answers differ: Isolate is not defined on these pairs.")
    return sum(kept) / len(kept)


def logit_diff_share(patched: torch.Tensor, base: torch.Tensor, source: torch.Tensor, base_ids, source_ids) -> torch.Tensor:
    """(LD_patched - LD_base) / (LD_source - LD_base) per row, LD = logit[source id] - logit[base id]:
    how far a patch moved the logit difference from the base run's towards the source run's (0: not at
    all, 1: all the way; it may overshoot). patched, base, source: [B, vocab] logits (or log-probabilities);
    base_ids, source_ids: [B] token ids."""
    rows = torch.arange(len(patched))

    def logit_diff(logits):
        return logits[rows, source_ids] - logits[rows, base_ids]

    return (logit_diff(patched) - logit_diff(base)) / (logit_diff(source) - logit_diff(base))


def entity_interval(correct, base, source, n_boot: int = 1000, level: float = 0.95,
                    seed: int = 0) -> "tuple[float, float]":
    """A `level` interval for a pair score (IIA, Cause, Isolate) that respects shared entities.

    correct: [n] 0/1 per pair; base, source: the pair's two entity names. Each of n_boot resamples draws
    the entities with replacement (entity e drawn m_e times), so pair i counts m_{base_i} * m_{source_i} times:
        score* = sum_i m_{base_i} m_{source_i} correct_i / sum_i m_{base_i} m_{source_i}
    Returns (lo, hi), the (1 - level)/2 and (1 + level)/2 quantiles of score* over the resamples that keep
    at least one pair. With many pairs on few entities this is far wider than a binomial interval, as it
    should be: a new sample of pairs from the same few cities would not be independent of this one.
    """
    (w,) = _entity_weights([_pair_set(correct, base, source)], n_boot, seed)
    total = w.sum(1)
    score = (w @ np.asarray(correct, dtype=float))[total > 0] / total[total > 0]
    lo, hi = np.quantile(score, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def disentangle_interval(cause, isolate: dict, n_boot: int = 1000, level: float = 0.95,
                         seed: int = 0) -> "tuple[float, float]":
    """A `level` interval for Disentangle = (Cause + mean_a Isolate[a]) / 2, whose scores rest on different
    pairs (all pairs for Cause, a sample per kept attribute a for Isolate) over shared entities.

    cause: (values, base, source) per Cause pair; isolate: {a: (values, base, source)} per Isolate pair of a.
    Each resample draws the entities once, with replacement, for all the pair sets together (weights
    w_i = m_{base_i} m_{source_i}, as `entity_interval`), and scores
        Disentangle* = (Cause* + mean_a Isolate*[a]) / 2,   each score* = sum_i w_i values_i / sum_i w_i
    over the resamples that keep a pair in every set. values are 0/1 per pair; or, for two methods scored on
    the same pairs, the per-pair differences of their 0/1s: then this is the paired interval of their
    difference in Disentangle (as `paired_difference` is for one score). Coverage (tests/test_cli.py: 100
    simulated data sets of 200 pairs over 30 entities, entity effects shared by Cause and Isolate, a true
    Disentangle of 0.6): the 95% interval covered it in 96, 1.3 times as wide as the estimates' spread."""
    sets = [_pair_set(*cause), *(_pair_set(*isolate[a]) for a in isolate)]
    if len(sets) < 2:
        raise ValueError("Disentangle needs Isolate of at least one kept attribute: pass isolate={a: (values, base, "
                         "source)}.")
    weights = _entity_weights(sets, n_boot, seed)
    totals = [w.sum(1) for w in weights]
    ok = np.all([t > 0 for t in totals], axis=0)
    means = [(w[ok] @ np.asarray(values, dtype=float)) / t[ok] for w, t, (values, _, _) in zip(weights, totals, sets)]
    score = (means[0] + np.mean(means[1:], axis=0)) / 2
    lo, hi = np.quantile(score, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _pair_set(values, base, source):
    """(values, base, source) as arrays, checked: one entry per pair, at least one pair."""
    values, base, source = np.asarray(values, dtype=float), np.asarray(base), np.asarray(source)
    if not len(values) == len(base) == len(source):
        raise ValueError(f"correct, base and source must have one entry per pair; got {len(values)}, "
                         f"{len(base)} and {len(source)}.")
    if len(values) == 0:
        raise ValueError("No pairs given: an interval needs at least one scored pair.")
    return values, base, source


def _entity_weights(sets, n_boot, seed):
    """One entity bootstrap shared by the pair sets [(values, base, source), ...]: n_boot draws of the entities
    of all sets with replacement (entity e drawn m_e times); per set, the weights w_i = m_{base_i} m_{source_i}
    of its pairs, [n_boot, pairs]."""
    names = np.concatenate([x for _, base, source in sets for x in (base, source)])
    entities, index = np.unique(names, return_inverse=True)
    rng = np.random.default_rng(seed)
    m = rng.multinomial(len(entities), np.full(len(entities), 1 / len(entities)), size=n_boot)  # [n_boot, entities]
    weights, start = [], 0
    for _, base, _ in sets:
        b, s = index[start:start + len(base)], index[start + len(base):start + 2 * len(base)]
        weights.append(m[:, b] * m[:, s])
        start += 2 * len(base)
    return weights


def scores(model, pairs: pd.DataFrame, layer: int, swap, attribute: str = "country",
           keep: tuple = ("continent", "language"), template=0, n_isolate: int = 64, seed: int = 0,
           rests_on: bool = False) -> dict:
    """RAVEL's Cause, Isolate and Disentangle of `swap` at `layer` on `pairs` (from dc.make_pairs, with
    base_/source_ columns for `attribute` and every attribute in `keep`), each with its entity interval
    and the pairs and entities it rests on. The one scoring function: the CLI, selection, baselines,
    tools and chapters call it (score_row turns its result into a table row).

    Cause: IIA of `attribute` over all pairs. Isolate[a]: among the pairs whose base and source differ
    in a (first answer token), a seeded sample of up to n_isolate; h_source comes from the source's
    prompt asking for a, and we count the patched answers that are still the base's a.
    Disentangle = (Cause + mean_a Isolate[a]) / 2. keep=(): Cause alone (isolate and disentangle None).

    Returns {"cause", "isolate": {a: ..., "mean": ...}, "disentangle", "cause_ci", "isolate_ci": {a: ...},
    "disentangle_ci", "n_pairs", "n_isolate": {a: ...}}; *_ci are 95% intervals from resampling entities
    (`entity_interval`; Disentangle's, one resample of the entities for all its pairs: `disentangle_interval`).
    rests_on=True adds what each score rests on: "n_entities_scored": {"cause": ..., a: ...}, "scored":
    {"cause": pairs, a: the Isolate sample of a} (selection.rotation_scores flags the thin ones) and
    "correct": {"cause": 0/1 per pair, a: ...} (`score_differences` compares two methods on them).
    """
    if isinstance(keep, str):
        raise ValueError(f"keep={keep!r} must be a tuple of attributes that should stay, e.g. ('continent',).")
    keep = tuple(keep)
    check_pair_columns(pairs, [attribute, *keep])
    cause_hits = hits(patch_pairs(model, pairs, layer, swap, attribute, template),
                      answer_ids(model, pairs[f"source_{attribute}"]))
    cause = cause_hits.float().mean().item()
    result = {"cause": cause, "isolate": None, "disentangle": None,
              "cause_ci": entity_interval(cause_hits, pairs["base"], pairs["source"])}
    scored, correct = {"cause": pairs}, {"cause": cause_hits.numpy()}
    if keep:
        isolate, isolate_ci = {}, {}
        for a in keep:
            differ = isolate_pairs(model, pairs, a)
            if len(differ) == 0:
                raise ValueError(f"No pair's base and source differ in {a!r}, so Isolate cannot be measured; "
                                 f"use more varied cities or drop {a!r} from keep.")
            sample = scored[a] = differ.sample(n=min(n_isolate, len(differ)), random_state=seed)
            kept = hits(patch_pairs(model, sample, layer, swap, a, template), answer_ids(model, sample[f"base_{a}"]))
            isolate[a], correct[a] = kept.float().mean().item(), kept.numpy()
            isolate_ci[a] = entity_interval(kept, sample["base"], sample["source"])
        isolate["mean"] = sum(isolate[a] for a in keep) / len(keep)
        result.update(isolate=isolate, disentangle=(cause + isolate["mean"]) / 2, isolate_ci=isolate_ci,
                      disentangle_ci=_disentangle_ci(correct, scored))
    result["n_pairs"] = len(pairs)
    if keep:
        result["n_isolate"] = {a: len(scored[a]) for a in keep}
    if rests_on:
        result["n_entities_scored"] = {name: len(set(p["base"]) | set(p["source"])) for name, p in scored.items()}
        result["scored"], result["correct"] = scored, correct
    return result


def _disentangle_ci(correct, scored):
    """`disentangle_interval` of per-pair values correct[name] on the pairs scored[name] ("cause", then each
    kept attribute): 0/1 hits of one method, or the per-pair differences of two methods' hits."""
    def pair_set(name):
        return correct[name], scored[name]["base"], scored[name]["source"]

    return disentangle_interval(pair_set("cause"), {a: pair_set(a) for a in scored if a != "cause"})


def score_differences(a: dict, b: dict) -> dict:
    """Method a minus method b, scored on the same pairs: `scores(..., rests_on=True)` results of both (the
    Isolate samples are the same for any two swaps: they depend on the unpatched answers and the seed).
    Returns {"cause": (diff, lo, hi), "isolate": {attribute: (diff, lo, hi)}, "disentangle": (diff, lo, hi)}
    with paired entity-bootstrap 95% intervals (`paired_difference`; Disentangle's via `disentangle_interval`
    of the per-pair differences); isolate and disentangle None when nothing was kept."""
    for name, pairs in a["scored"].items():
        other = b["scored"].get(name)
        if other is None or list(other["base"]) != list(pairs["base"]) or list(other["source"]) != list(pairs["source"]):
            raise ValueError(f"The two results were not scored on the same {name} pairs: score both methods with "
                             f"dc.scores on one set of pairs, with the same keep and seed, and rests_on=True.")

    def difference(name):
        pairs = a["scored"][name]
        return paired_difference(a["correct"][name], b["correct"][name], pairs["base"], pairs["source"])

    kept = [name for name in a["scored"] if name != "cause"]
    if not kept:
        return {"cause": difference("cause"), "isolate": None, "disentangle": None}
    minus = {name: a["correct"][name].astype(float) - b["correct"][name].astype(float) for name in a["correct"]}
    return {"cause": difference("cause"), "isolate": {name: difference(name) for name in kept},
            "disentangle": (a["disentangle"] - b["disentangle"], *_disentangle_ci(minus, a["scored"]))}


def score_row(result: dict, name=None) -> dict:
    """A `scores` result as one flat table row: cause, cause_lo, cause_hi, then per kept attribute a: a,
    a_lo, a_hi, then isolate (their mean) and disentangle (the last two only when something was kept).
    name: a function giving each score's column name instead (e.g. lambda score: f"val_{score}");
    the interval's columns are that name + "_lo" and "_hi"."""
    name = name or (lambda score: score)
    row = {name("cause"): result["cause"]}
    row[name("cause") + "_lo"], row[name("cause") + "_hi"] = result["cause_ci"]
    if result["isolate"] is not None:
        for a, value in result["isolate"].items():
            if a != "mean":
                row[name(a)] = value
                row[name(a) + "_lo"], row[name(a) + "_hi"] = result["isolate_ci"][a]
        row[name("isolate")], row[name("disentangle")] = result["isolate"]["mean"], result["disentangle"]
    return row


def score_table(model, pairs: pd.DataFrame, layer: int, swaps: dict, intervals: bool = False, **kwargs) -> pd.DataFrame:
    """`scores` of each named swap in `swaps` ({name: swap}) as a DataFrame, one row per method:
    cause, isolate of each kept attribute, isolate (their mean), disentangle.
    intervals=True adds the entity-resampling 95% interval of Cause and of each kept attribute's Isolate
    as columns <score>_lo and <score>_hi after the scores (`with_intervals` shows them next to the scores)."""
    table = pd.DataFrame({name: score_row(scores(model, pairs, layer, swap, **kwargs)) for name, swap in swaps.items()}).T
    bounds = [c for c in table.columns if c.endswith(("_lo", "_hi"))]
    return table[[c for c in table.columns if c not in bounds] + (bounds if intervals else [])]


def with_intervals(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """`table` for reading: each score that has <score>_lo and <score>_hi columns shown as
    "value [lo, hi]", the other scores rounded; the _lo/_hi columns themselves dropped."""
    shown = {}
    for col in table.columns:
        if col.endswith(("_lo", "_hi")):
            continue
        if f"{col}_lo" in table.columns:
            shown[col] = [format_interval(v, lo, hi, digits)
                          for v, lo, hi in zip(table[col], table[f"{col}_lo"], table[f"{col}_hi"])]
        else:
            shown[col] = table[col].round(digits) if pd.api.types.is_numeric_dtype(table[col]) else table[col]
    return pd.DataFrame(shown, index=table.index)


# ---------------------------------------------------------------- is a subspace dormant? (chapters 4 and 6)

def null_fraction(patch, null_basis):
    """Share of the patch's squared length ||h' - h_base||^2 (rows of `patch` [n, d], summed) that lies in
    the null space spanned by `null_basis` [m, d]: 1 means the next layer never sees the patch."""
    return ((patch @ null_basis.T).pow(2).sum() / patch.pow(2).sum()).item()


def natural_variance(acts, basis):
    """Variance of activations along each orthonormal row of `basis`, relative to the layer's average
    variance per direction: acts [n, d] (unpatched activations), basis [k, d] -> [k] tensor.
    A direction with a value near 0 is dormant: the network's own inputs barely move along it."""
    per_direction = (acts @ basis.T).var(dim=0)
    return per_direction / acts.var(dim=0).sum() * acts.shape[1]


# ---------------------------------------------------------------- two methods on the same pairs (chapters 4-7)

def paired_difference(correct_a, correct_b, base, source, n_boot=1000, level=0.95, seed=0):
    """Score of method a minus score of method b, both scored on the same pairs, with a paired
    entity-bootstrap interval.

    correct_a, correct_b: [n] 0/1 per pair for each method; base, source: the pair's two entity names.
    diff = mean(correct_a) - mean(correct_b). Each resample draws the entities with replacement exactly as
    `entity_interval` does (weights w_i = m_{base_i} m_{source_i}) and scores BOTH methods on it:
        diff* = sum_i w_i correct_a_i / sum_i w_i - sum_i w_i correct_b_i / sum_i w_i
              = sum_i w_i (correct_a_i - correct_b_i) / sum_i w_i
    so the interval is `entity_interval` of the per-pair differences (same seed, same resamples). Pairing
    removes what the two methods share (the same hard entities), which two separate intervals count twice:
    separate intervals that overlap do not mean "cannot tell". Returns (diff, lo, hi); 0 outside [lo, hi]
    means the two methods differ at this level.

    Coverage (tests/test_paired_difference.py: 400 simulated data sets of 200 pairs over 30 shared entities,
    entity effects shared by both methods, a true difference of 0.10): the 95% interval covered it in all
    400; it is conservative, 1.8 times as wide as the spread of the estimates over the data sets calls for
    (each pair's weight is a product of two entity counts), yet it excluded 0 in 399 of 400, where the two
    methods' separate entity intervals overlapped in all 400.
    """
    correct_a, correct_b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if correct_a.shape != correct_b.shape:
        raise ValueError(f"correct_a {correct_a.shape} and correct_b {correct_b.shape} must score the same pairs: "
                         f"one entry per pair each, in the same order.")
    lo, hi = entity_interval(correct_a - correct_b, base, source, n_boot=n_boot, level=level, seed=seed)
    return float(correct_a.mean() - correct_b.mean()), lo, hi


def all_agree_bound(n_entities, level=0.95):
    """When every scored entity succeeds (or every one fails), every resample gives the same score and the
    bootstrap interval has zero width, which is no certainty. With 0 failures in n independent trials
    (here: entities), the exact one-sided `level` bound is b = 1 - (1 - level)^(1/n) away from the observed rate:
        all successes:  rate >= 1 - b          all failures:  rate <= b          (n = 30, level 0.95: b = 0.095)
    Returns b."""
    if n_entities < 1:
        raise ValueError(f"n_entities={n_entities!r}: the bound needs at least one entity.")
    return 1 - (1 - level) ** (1 / n_entities)


def format_interval(value, lo, hi, digits=2, n_entities=None):
    """"value [lo, hi]" for reading. A zero-width interval (every resample agreed) is not shown as one:
    with n_entities and a score of 1 (or 0) it becomes the exact one-sided bound of `all_agree_bound`,
    "1.00 [>= 0.90]" (or "0.00 [<= 0.10]"); otherwise the note "(all agree)": every resample gave this
    score (as wide as an interval, so that tables keep their width)."""
    if hi > lo:
        return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
    if n_entities is not None and value in (0, 1):
        b = all_agree_bound(n_entities)
        return f"{value:.{digits}f} [>= {1 - b:.{digits}f}]" if value == 1 else f"{value:.{digits}f} [<= {b:.{digits}f}]"
    return f"{value:.{digits}f} (all agree)"
