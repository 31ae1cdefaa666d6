"""Counterfactual pairs (chapter 1 on): a base city and a source city whose answers differ, built from
tables of cities, split by city, and patched in batches.

For a pair, the base prompt asks for the base city's `attribute`; at the base city's last token we set
h' = swap(h_base, h_source), where h_source is the residual stream of the source city's prompt at the same
layer and token. `patch_pairs` returns the patched logits of every pair of a table; a city is the base or
the source of many pairs, so every city's prompt runs once, through the model's `PrefixCache`s
(prefix_cache.prefix_caches: they live on the model, dc.clear_prefix_caches(model) frees them).
"""
import numpy as np
import pandas as pd
import torch

from .facts import answer_token
from .patching import check_layer
from .prefix_cache import prefix_caches
from .prompts import get_template


def make_pairs(model, bases: pd.DataFrame, sources: "pd.DataFrame | None" = None, n: "int | None" = None, seed: int = 0,
               attribute: str = "country") -> pd.DataFrame:
    """Counterfactual pairs: each base city of `bases` with each source city of `sources` (default:
    `bases` again) whose `attribute` (country) starts with a different answer token (so that "South
    Korea" <- "South Africa", both " South", cannot count as a success without any change).

    bases, sources: tables with a `city` column and attribute columns (as from known_facts).
    n: keep a random sample of n pairs (seeded); None keeps them all.
    Returns a DataFrame with columns base, source, then base_<attribute> and source_<attribute> for
    every attribute column the tables share.
    """
    sources = bases if sources is None else sources
    if len(bases) == 0 or len(sources) == 0:
        raise ValueError("make_pairs needs at least one base city and one source city.")
    cols = [c for c in bases.columns if c != "city" and c in sources.columns]
    if attribute not in cols:
        raise ValueError(f"Both tables need a {attribute!r} column (as from dc.known_facts(model, {attribute!r})).")
    left = bases[["city"] + cols].add_prefix("base_").rename(columns={"base_city": "base"})
    right = sources[["city"] + cols].add_prefix("source_").rename(columns={"source_city": "source"})
    pairs = left.merge(right, how="cross")
    base, source = pairs[f"base_{attribute}"], pairs[f"source_{attribute}"]
    token = {v: answer_token(model.tokenizer, v, first_token_only=True) for v in set(base) | set(source)}
    pairs = pairs[base.map(token) != source.map(token)]
    if n is not None and n < len(pairs):
        pairs = pairs.sample(n=n, random_state=seed)
    return pairs.reset_index(drop=True)


def split_by_city(table: pd.DataFrame, test_frac: float = 0.2, seed: int = 0,
                  attribute: str = "country") -> "tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]":
    """Hold out a random `test_frac` of the cities (RAVEL's entity split) and return (train, test, unseen).

    test: held-out cities whose `attribute` (country) some training city has -- the rotation has learnt
    to write that country, but never saw these cities. unseen: held-out cities whose country no training
    city has -- a harder test, to be reported separately. No city is in two of the three tables.
    """
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac={test_frac!r} must be between 0 and 1 (e.g. 0.2).")
    if table["city"].duplicated().any():
        raise ValueError("The table lists some city twice; a city must land on one side of the split only.")
    order = np.random.default_rng(seed).permutation(len(table))
    n_held = max(1, round(test_frac * len(table)))
    held = table.iloc[np.sort(order[:n_held])]
    train = table.iloc[np.sort(order[n_held:])]
    seen = held[attribute].isin(set(train[attribute]))
    return train.reset_index(drop=True), held[seen].reset_index(drop=True), held[~seen].reset_index(drop=True)


def check_pair_columns(pairs: pd.DataFrame, attributes) -> None:
    """pairs (from make_pairs) must have base_<a> and source_<a> for every attribute a."""
    missing = [f"{side}_{a}" for a in attributes for side in ("base", "source") if f"{side}_{a}" not in pairs.columns]
    if missing:
        raise ValueError(f"The pairs table lacks the columns {missing}: build it with dc.make_pairs on tables "
                         f"that have these attributes, e.g. dc.known_facts(model, {list(attributes)}).")


def answer_ids(model, answers) -> torch.Tensor:
    """The first token of each answer (" France", " South" for South Korea): a LongTensor of ids."""
    token = {a: answer_token(model.tokenizer, a, first_token_only=True) for a in set(answers)}  # 48k pairs, ~50 answers
    return torch.tensor([token[a] for a in answers])


def source_states(model, cities, layer: int, attribute: str = "country", template=0) -> "dict[str, torch.Tensor]":
    """h_source for each distinct city: {city: [d] tensor}, from the prompts asking for `attribute`
    (in prompt template `template`). They come from the same `PrefixCache` as the base prompts of the
    same cities: a city's source prompt is its base prompt, read at the layer before any patch.
    Each vector is a copy: editing it in place leaves the cache (and later calls) alone."""
    cities = tuple(sorted(set(cities)))
    states = _prompt_cache(model, cities, attribute, template).states_at(layer)[:, 0, :]
    return {city: h.clone() for city, h in zip(cities, states)}


def _prompt_cache(model, cities, attribute, template):
    """The model's PrefixCache of the prompts asking for `attribute` of `cities` (a sorted tuple)."""
    return prefix_caches(model).get(model, cities, get_template(attribute, template))


def pairs_cache(model, pairs, attribute, template=0):
    """One PrefixCache for every city of `pairs`, bases and sources alike, and each city's row in it."""
    cities = tuple(sorted(set(pairs["base"]) | set(pairs["source"])))
    return _prompt_cache(model, cities, attribute, template), {c: i for i, c in enumerate(cities)}


def patch_pairs(model, pairs: pd.DataFrame, layer: int, swap, attribute: str = "country", template=0, batch_size: int = 32,
                states: "dict[str, torch.Tensor] | None" = None) -> torch.Tensor:
    """Logits [len(pairs), vocab] (on the CPU) of the base prompts (asking for `attribute`, in template `template`)
    when h at the base city's last token becomes swap(h_base, h_source).

    swap: any intervention (interventions.RotatedSubspace, FullPatch(), ...) or function of (h_base, h_source).
    states: h_source per city from `source_states`, to reuse; computed here when not given.
    The prompt of every city in `pairs` runs once (`PrefixCache`, same logits as `dc.patch`), since a city
    is the base or the source of many pairs; the model keeps the last few such caches for the next call.
    """
    check_layer(model, layer)
    if len(pairs) == 0:
        raise ValueError("No pairs given: build them with dc.make_pairs(model, facts).")
    cache, row = pairs_cache(model, pairs, attribute, template)
    states = source_states(model, row, layer, attribute, template) if states is None else states  # same cache
    missing = sorted(set(pairs["source"]) - set(states))
    if missing:
        raise ValueError(f"`states` has no h_source for {missing[:5]}{' ...' if len(missing) > 5 else ''}: compute "
                         f"them with dc.source_states(model, cities, layer, attribute), or leave states=None.")
    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            batch = pairs.iloc[i : i + batch_size]
            h_source = torch.stack([states[c] for c in batch["source"]])
            rows = [row[c] for c in batch["base"]]
            out.append(cache.patch(rows, layer, lambda h_base: swap(h_base, h_source)).cpu())  # noqa: B023 (called here)
    return torch.cat(out)  # on the CPU, like dc.next_token_logits: ready for answer_ids, numpy and plots


def isolate_pairs(model, pairs: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """The pairs an Isolate term on `attribute` can use: base and source answers both given (not NaN)
    and starting with different tokens -- where they agree, keeping the base's answer proves nothing."""
    pairs = pairs[pairs[f"base_{attribute}"].notna() & pairs[f"source_{attribute}"].notna()]
    token = {a: answer_token(model.tokenizer, a, first_token_only=True)
             for a in set(pairs[f"base_{attribute}"]) | set(pairs[f"source_{attribute}"])}
    return pairs[pairs[f"base_{attribute}"].map(token) != pairs[f"source_{attribute}"].map(token)]
