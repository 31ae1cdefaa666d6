"""How well an intervention does what it should, on counterfactual pairs (chapters 1, 5 and 6).

    IIA         = interchange intervention accuracy: the share of pairs whose patched top answer is
                  the target (the source's value)
For RAVEL's scores, with a swap h' = swap(h_base, h_source) at `layer`:
    Cause       = IIA on the target attribute: the base prompt now answers the source's value
    Isolate[a]  = for a kept attribute a, among pairs whose base and source differ in a: the share
                  whose answer to the prompt asking for a is still the base's value
    Disentangle = (Cause + mean over a of Isolate[a]) / 2

Every method is judged the same way: DAS, the baselines (baselines.py) and full patching are all
interventions with the call shape swap(h_base, h_source).
"""
import pandas as pd
import torch

from .pairs import answer_ids, check_pair_columns, isolate_pairs, patch_pairs


def iia(logits, targets):
    """Interchange intervention accuracy: the share of rows whose top logit is the target token."""
    if len(logits) != len(targets):
        raise ValueError(f"{len(logits)} rows of logits but {len(targets)} targets.")
    if len(targets) == 0:
        raise ValueError("No rows given: pass the logits of at least one pair and its target token id.")
    return (logits.argmax(-1) == torch.as_tensor(targets, device=logits.device)).float().mean().item()


def scores(model, pairs, layer, swap, attribute="country", keep=("continent", "language"), template=0,
           n_isolate=64, seed=0):
    """RAVEL's Cause, Isolate and Disentangle of `swap` at `layer` on `pairs` (from das.make_pairs, with
    base_/source_ columns for `attribute` and every attribute in `keep`).

    Cause: IIA of `attribute` over all pairs. Isolate[a]: among the pairs whose base and source differ
    in a (first answer token), a seeded sample of up to n_isolate; h_source comes from the source's
    prompt asking for a, and we count the patched answers that are still the base's a.
    """
    if not keep or isinstance(keep, str):
        raise ValueError(f"keep={keep!r} must be a tuple of attributes that should stay, e.g. ('continent',).")
    check_pair_columns(pairs, [attribute, *keep])
    cause = iia(patch_pairs(model, pairs, layer, swap, attribute, template),
                answer_ids(model, pairs[f"source_{attribute}"]))
    isolate, n = {}, {}
    for a in keep:
        differ = isolate_pairs(model, pairs, a)
        if len(differ) == 0:
            raise ValueError(f"No pair's base and source differ in {a!r}, so Isolate cannot be measured; "
                             f"use more varied cities or drop {a!r} from keep.")
        sample = differ.sample(n=min(n_isolate, len(differ)), random_state=seed)
        isolate[a] = iia(patch_pairs(model, sample, layer, swap, a, template), answer_ids(model, sample[f"base_{a}"]))
        n[a] = len(sample)
    isolate["mean"] = sum(isolate[a] for a in keep) / len(keep)
    return {"cause": cause, "isolate": isolate, "disentangle": (cause + isolate["mean"]) / 2,
            "n_pairs": len(pairs), "n_isolate": n}


def score_table(model, pairs, layer, swaps, **kwargs):
    """`scores` of each named swap in `swaps` ({name: swap}) as a DataFrame, one row per method:
    cause, isolate of each kept attribute, isolate (their mean), disentangle."""
    rows = {}
    for name, swap in swaps.items():
        s = scores(model, pairs, layer, swap, **kwargs)
        kept = {a: v for a, v in s["isolate"].items() if a != "mean"}
        rows[name] = {"cause": s["cause"], **kept, "isolate": s["isolate"]["mean"], "disentangle": s["disentangle"]}
    return pd.DataFrame(rows).T
