"""Distributed Alignment Search (chapter 5): train a rotated subspace so that swapping it moves a
city's country from a source prompt into a base prompt, and measure how often it does.

Counterfactual pair: (base city, source city) with different countries. The base prompt asks for the
base city's country; at the base city's last token we set h' = rotation(h_base, h_source), where
h_source is the residual stream of the source city at the same layer and token. The intervention
succeeds when the patched model's top answer is the source's country (interchange intervention
accuracy, IIA). Training minimises the cross-entropy of that answer; only R_k learns.
"""
import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize
from tqdm import tqdm

from .facts import answer_token
from .fast import PrefixCache
from .patching import check_layer
from .prompts import check_attribute, make_prompt
from .rotation import RotatedSubspace


def make_pairs(model, bases, sources=None, n=None, seed=0, attribute="country"):
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


def split_by_city(table, test_frac=0.2, seed=0, attribute="country"):
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


def check_pair_columns(pairs, attributes):
    """pairs (from make_pairs) must have base_<a> and source_<a> for every attribute a."""
    missing = [f"{side}_{a}" for a in attributes for side in ("base", "source") if f"{side}_{a}" not in pairs.columns]
    if missing:
        raise ValueError(f"The pairs table lacks the columns {missing}: build it with das.make_pairs on tables "
                         f"that have these attributes, e.g. dc.known_facts(model, {list(attributes)}).")


def answer_ids(model, answers):
    """The first token of each answer (" France", " South" for South Korea): a LongTensor of ids."""
    token = {a: answer_token(model.tokenizer, a, first_token_only=True) for a in set(answers)}  # 48k pairs, ~50 answers
    return torch.tensor([token[a] for a in answers])


def source_states(model, cities, layer, attribute="country", template=0):
    """h_source for each distinct city: {city: [d] tensor}, from the prompts asking for `attribute`
    (in prompt template `template`). They come from the same `PrefixCache` as the base prompts of the
    same cities: a city's source prompt is its base prompt, read at the layer before any patch."""
    check_attribute(attribute)
    cities = tuple(sorted(set(cities)))
    return dict(zip(cities, _prompt_cache(model, cities, attribute, template).states_at(layer)[:, 0, :]))


# The model is frozen, so the prompts of a set of cities, run up to each city's last token (and, per
# layer, up to that layer), never change: keep the last few for the next call. Chapter 6 scores many
# swaps and trains many rotations on the same cities, and would otherwise run the same prompts again.
@functools.lru_cache(maxsize=8)
def _prompt_cache(model, cities, attribute, template):
    return PrefixCache(model, [make_prompt(c, attribute, template) for c in cities], list(cities))


def _pairs_cache(model, pairs, attribute, template):
    """One PrefixCache for every city of `pairs`, bases and sources alike, and each city's row in it."""
    cities = tuple(sorted(set(pairs["base"]) | set(pairs["source"])))
    return _prompt_cache(model, cities, attribute, template), {c: i for i, c in enumerate(cities)}


def patch_pairs(model, pairs, layer, swap, attribute="country", template=0, batch_size=32, states=None):
    """Logits [len(pairs), vocab] (on the CPU) of the base prompts (asking for `attribute`, in template `template`)
    when h at the base city's last token becomes swap(h_base, h_source).

    swap: e.g. a RotatedSubspace, or `lambda h_base, h_source: h_source` for full patching.
    states: h_source per city from `source_states`, to reuse; computed here when not given.
    The prompt of every city in `pairs` runs once (`PrefixCache`, same logits as `dc.patch`), since a city
    is the base or the source of many pairs; the last few such caches are kept for the next call.
    """
    check_layer(model, layer)
    if len(pairs) == 0:
        raise ValueError("No pairs given: build them with das.make_pairs(model, facts).")
    cache, row = _pairs_cache(model, pairs, attribute, template)
    states = source_states(model, row, layer, attribute, template) if states is None else states  # same cache
    missing = sorted(set(pairs["source"]) - set(states))
    if missing:
        raise ValueError(f"`states` has no h_source for {missing[:5]}{' ...' if len(missing) > 5 else ''}: compute "
                         f"them with das.source_states(model, cities, layer, attribute), or leave states=None.")
    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            batch = pairs.iloc[i : i + batch_size]
            h_source = torch.stack([states[c] for c in batch["source"]])
            rows = [row[c] for c in batch["base"]]
            out.append(cache.patch(rows, layer, lambda h_base: swap(h_base, h_source)).cpu())
    return torch.cat(out)  # on the CPU, like dc.next_token_logits: ready for answer_ids, numpy and plots


def iia(logits, targets):
    """Interchange intervention accuracy: the share of rows whose top logit is the target token."""
    if len(logits) != len(targets):
        raise ValueError(f"{len(logits)} rows of logits but {len(targets)} targets.")
    if len(targets) == 0:
        raise ValueError("No rows given: pass the logits of at least one pair and its target token id.")
    return (logits.argmax(-1) == torch.as_tensor(targets, device=logits.device)).float().mean().item()


def isolate_pairs(model, pairs, attribute):
    """The pairs an Isolate term on `attribute` can use: base and source answers both given (not NaN)
    and starting with different tokens -- where they agree, keeping the base's answer proves nothing."""
    pairs = pairs[pairs[f"base_{attribute}"].notna() & pairs[f"source_{attribute}"].notna()]
    token = {a: answer_token(model.tokenizer, a, first_token_only=True)
             for a in set(pairs[f"base_{attribute}"]) | set(pairs[f"source_{attribute}"])}
    return pairs[pairs[f"base_{attribute}"].map(token) != pairs[f"source_{attribute}"].map(token)]


def _loss_term(model, pairs, attribute, answers):
    """What one loss term needs, computed once since the model is frozen: a PrefixCache of the prompts
    for `attribute` of every city in `pairs`, and each row's base and source index into it (h_source is
    the source's prompt read from the same cache, at each run's layer), and the answer ids to score."""
    cache, row = _pairs_cache(model, pairs, attribute, 0)
    base_rows, source_rows = (torch.tensor([row[c] for c in pairs[side]]) for side in ("base", "source"))
    return cache, base_rows, source_rows, answer_ids(model, answers)


def train_das(model, train_pairs, layer, k, steps=100, lr=3e-3, batch_size=16, seed=0, progress=True,
              keep=(), attribute="country", swap=None):
    """Train a subspace at `layer` so that patching it makes each base prompt answer the source's
    `attribute` (Cause) and, for every attribute in `keep`, still answer the base's own (Isolate).
    Returns (swap, losses), one loss per step.

    swap: None trains a fresh RotatedSubspace(d, k) seeded by `seed`; or pass any module with
    forward(h_base, h_source), e.g. a boundless.BoundlessSubspace, and k=None (the module sets its size).
    Each step draws `batch_size` pairs per term (seeded) and sets h' = swap(h_base, h_source) at the base
    city's last token:
      Cause:     base's prompt for `attribute`, h_source from the source's prompt for `attribute`;
                 cross-entropy of the source's answer.
      Isolate a: base's prompt for a, h_source from the source's prompt for a; cross-entropy of the
                 BASE's answer for a, on pairs whose answers for a start with different tokens. A row
                 whose base_<a> or source_<a> is missing (NaN: e.g. the model does not know it) sits out
                 this term only, so the terms need not share one set of cities.
      loss = Cause + mean_a Isolate_a   (+ swap.penalty() when the module has one)
    keep=() is plain DAS; with keep it is multi-task DAS (RAVEL's MDAS), and moving the target and
    keeping the rest weigh the same. A module with `anneal(fraction)` hears before each step how much
    of training is done (Boundless DAS lowers its temperature). The model is frozen, so h_source of
    every pair and the base prompts' tokens before the patch position (`PrefixCache`, same logits and
    gradients as `dc.patch`) are computed once, before training. steps=0 returns the untrained swap.
    """
    if swap is None:
        swap = _fresh_rotation(model, k, seed)
    elif k is not None:
        raise ValueError(f"Pass k=None with swap=...: the module {type(swap).__name__} sets its own size.")
    name = f"{'MDAS' if keep else 'DAS'} layer {layer}" + (f", k={k}" if k is not None else "")
    (swap, losses), = _train(model, train_pairs, [layer], [swap], [seed], steps, lr, batch_size, progress, keep,
                             attribute, name)
    return swap, losses


def train_das_many(model, train_pairs, layer, runs, steps=100, lr=3e-3, batch_size=16, progress=True,
                   keep=(), attribute="country"):
    """Train one rotation per (k, seed) in `runs`, all at once; returns [(swap, losses), ...] in that order.

    Each run is train_das(model, train_pairs, layer, k, steps, lr, batch_size, seed, ...): its own start,
    its own batches and its own loss. layer: one layer for every run, or a list with one per run (a layer
    sweep). The runs share each step's run through the model (their batches stacked into
    one; a row patched at layer L joins it at block L + 1), which on a CPU costs about half as much per
    pair as a batch of 8 alone. The results equal separate train_das runs up to float rounding (which
    Adam can grow to lr-sized differences in R_k).
    """
    runs = list(runs)
    if not runs:
        raise ValueError("runs is empty: pass a list of (k, seed) pairs, e.g. [(4, 0), (4, 1)].")
    layers = list(layer) if isinstance(layer, (list, tuple)) else [layer] * len(runs)
    if len(layers) != len(runs):
        raise ValueError(f"layer lists {len(layers)} layers for {len(runs)} runs: give one layer per run, or one int.")
    swaps = [_fresh_rotation(model, k, seed) for k, seed in runs]
    where = f"layer {layers[0]}" if len(set(layers)) == 1 else f"layers {min(layers)}-{max(layers)}"
    return _train(model, train_pairs, layers, swaps, [seed for _, seed in runs], steps, lr, batch_size, progress,
                  keep, attribute, f"{'MDAS' if keep else 'DAS'} {where}, {len(runs)} runs")


def _fresh_rotation(model, k, seed):
    with torch.random.fork_rng():  # a seeded start that leaves the caller's random state alone
        torch.manual_seed(seed)
        return RotatedSubspace(model.config.hidden_size, k)


def _train(model, train_pairs, layers, swaps, seeds, steps, lr, batch_size, progress, keep, attribute, name):
    """train_das's loop for several swaps at once (see train_das_many): run i patches at layers[i], draws its
    batches from a generator seeded with seeds[i] and has its own loss; one step runs all their batches together."""
    for layer in layers:
        check_layer(model, layer)
    check_attribute(attribute)
    if isinstance(keep, str):
        raise ValueError(f"keep={keep!r} must be a tuple of attribute names, e.g. keep=({keep!r},).")
    for a in keep:
        check_attribute(a)
    if attribute in keep or len(set(keep)) < len(keep):
        raise ValueError(f"keep={tuple(keep)} must list other attributes than {attribute!r}, each once.")
    check_pair_columns(train_pairs, [attribute, *keep])
    if len(train_pairs) == 0:
        raise ValueError("No training pairs given: build them with das.make_pairs(model, train_cities).")
    if batch_size < 1 or steps < 0:
        raise ValueError(f"Need batch_size >= 1 and steps >= 0, got batch_size={batch_size}, steps={steps}.")
    for swap in swaps:
        swap.to(model._module.device)  # trains where the model runs (a GPU on Colab)
    if steps == 0:
        return [(swap, []) for swap in swaps]
    terms = [_loss_term(model, train_pairs, attribute, train_pairs[f"source_{attribute}"])]
    for a in keep:
        pairs = isolate_pairs(model, train_pairs, a)
        if len(pairs) == 0:
            raise ValueError(f"No training pair has base and source {a}s that differ; nothing to keep for {a!r}.")
        terms.append(_loss_term(model, pairs, a, pairs[f"base_{a}"]))
    row_layers = torch.tensor(layers).repeat_interleave(batch_size)  # the layer of each row of a stacked batch
    opt = torch.optim.Adam([p for swap in swaps for p in swap.parameters()], lr=lr)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    losses = [[] for _ in swaps]
    for step in tqdm(range(steps), desc=name, disable=not progress):
        for swap in swaps:
            if hasattr(swap, "anneal"):
                swap.anneal(step / steps)
        term_losses = [[] for _ in swaps]  # [run][term]
        with parametrize.cached():  # each orthogonal R is computed once per step, not once per term
            for cache, base_rows, source_rows, targets in terms:
                idx = [torch.randint(len(targets), (batch_size,), generator=g) for g in generators]
                h_source = [cache.states_at(L)[source_rows[i], 0, :] for L, i in zip(layers, idx)]

                def intervention(h_base):  # rows i*batch_size .. (i+1)*batch_size - 1 belong to run i
                    return torch.cat([swap(h, s) for swap, h, s in zip(swaps, h_base.split(batch_size), h_source)])

                logits = cache.patch(base_rows[torch.cat(idx)], row_layers, intervention)
                for run, (rows, run_logits) in enumerate(zip(idx, logits.split(batch_size))):
                    term_losses[run].append(F.cross_entropy(run_logits, targets[rows].to(logits.device)))
        run_losses = []
        for swap, (cause, *isolate) in zip(swaps, term_losses):
            loss = cause + torch.stack(isolate).mean() if isolate else cause
            if hasattr(swap, "penalty"):
                loss = loss + swap.penalty()
            run_losses.append(loss)
        opt.zero_grad()
        total = torch.stack(run_losses).sum()  # run i's parameters get the gradient of run i's loss alone
        total.backward()  # on its own line: nnsight patches Tensor.backward
        opt.step()
        for run_list, loss in zip(losses, run_losses):
            run_list.append(loss.item())
    return list(zip(swaps, losses))
