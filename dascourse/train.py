"""Training an intervention (chapters 5 and 7): Distributed Alignment Search, plain and multi-task.

Each step draws a batch of counterfactual pairs per loss term and sets h' = swap(h_base, h_source) at the
base city's last token, at `layer`:

    Cause:     base's prompt for `attribute`, h_source from the source's prompt for `attribute`;
               cross-entropy of the source's answer.
    Isolate a: base's prompt for a, h_source from the source's prompt for a; cross-entropy of the BASE's
               answer for a, on the pairs whose answers for a start with different tokens.
    loss = Cause + mean_a Isolate_a + swap.penalty()

Only the intervention learns (the model is frozen). `TrainSettings` holds how; `train_das` trains one
intervention, `train_das_many` several side by side; both run the one loop, `train`.
"""
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize

from .interventions import Intervention, PublishedBoundless, RotatedSubspace, seeded
from .model import torch_module
from .pairs import answer_ids, check_pair_columns, isolate_pairs, pairs_cache
from .patching import check_layer
from .progress import progress_bar
from .prompts import get_template


@dataclass(frozen=True)
class TrainSettings:
    """How to train: `steps` Adam steps at learning rate `lr`, `batch_size` pairs per loss term and step,
    drawn by a generator seeded with `seed` (which also seeds a fresh R_k); `keep`: attributes to Isolate
    (() is plain DAS, more is multi-task DAS); `attribute`: the one to move; `template`: the prompts
    (an index, a string with '{city}' or a dict per attribute, see prompts.get_template);
    `progress`: show a progress bar; `on_step`: None, or a function called with each step's number once it is
    done (one progress bar over several trainings, as in selection.py).

    Every training function (train_das, train_das_many, train_side_by_side, train_learned_mask,
    train_das_remote) takes one as `settings=`, or builds one from its keyword arguments;
    `TrainSettings.course()` holds the course's committed settings (dc.course_settings())."""

    steps: int = 100
    lr: float = 3e-3
    batch_size: int = 16
    seed: int = 0
    progress: bool = True
    keep: tuple = ()
    attribute: str = "country"
    template: object = 0
    on_step: object = None

    def __post_init__(self):
        if isinstance(self.keep, str):
            raise ValueError(f"keep={self.keep!r} must be a tuple of attribute names, e.g. keep=({self.keep!r},).")
        object.__setattr__(self, "keep", tuple(self.keep))
        for a in (self.attribute, *self.keep):
            get_template(a, self.template)  # an unknown attribute fails here, naming the fix
        if self.attribute in self.keep or len(set(self.keep)) < len(self.keep):
            raise ValueError(f"keep={tuple(self.keep)} must list other attributes than {self.attribute!r}, each once.")
        if self.batch_size < 1 or self.steps < 0:
            raise ValueError(f"Need batch_size >= 1 and steps >= 0, got batch_size={self.batch_size}, "
                             f"steps={self.steps}.")

    @classmethod
    def course(cls, **changes) -> "TrainSettings":
        """The course's committed settings (steps, lr, batch_size of dc.course_settings()), with `changes`."""
        from .settings import course_settings

        chosen = course_settings()
        return cls(**{**{key: chosen[key] for key in ("steps", "lr", "batch_size")}, **changes})


def settings_from(settings: "TrainSettings | None", **knobs) -> TrainSettings:
    """`settings` when given (then every knob must be left at its default), else TrainSettings(**knobs)."""
    if settings is None:
        return TrainSettings(**knobs)
    if not isinstance(settings, TrainSettings):
        raise TypeError(f"settings is a {type(settings).__name__}: pass a dc.TrainSettings(steps=..., lr=...).")
    default = TrainSettings()
    given = [key for key, value in knobs.items() if value != getattr(default, key)]
    if given:
        raise ValueError(f"Pass {given} inside settings (dc.TrainSettings(...)) or as arguments, not both.")
    return settings


def train_das(model, train_pairs: pd.DataFrame, layer: int, k: "int | None", steps: int = 100, lr: float = 3e-3,
              batch_size: int = 16, seed: int = 0, progress: bool = True, keep: tuple = (),
              attribute: str = "country", swap: "Intervention | None" = None, template=0,
              settings: "TrainSettings | None" = None) -> "tuple[Intervention, list[float]]":
    """Train a subspace at `layer` so that patching it makes each base prompt answer the source's
    `attribute` (Cause) and, for every attribute in `keep`, still answer the base's own (Isolate).
    Returns (swap, losses), one loss per step.

    swap: None trains a fresh RotatedSubspace(d, k) seeded by `seed`; or pass any Intervention
    (interventions.py), e.g. a BoundlessSubspace, and k=None (the module sets its size).
    settings: a TrainSettings instead of steps, lr, batch_size, seed, progress, keep, attribute, template.
    Each step draws `batch_size` pairs per term (seeded) and sets h' = swap(h_base, h_source) at the base
    city's last token (the terms and the loss: see this module's docstring). A row whose base_<a> or
    source_<a> is missing (NaN: e.g. the model does not know it) sits out the Isolate term of a only, so the
    terms need not share one set of cities. keep=() is plain DAS; with keep it is multi-task DAS (RAVEL's
    MDAS), and moving the target and keeping the rest weigh the same. Before each step the swap's
    `anneal(fraction)` hears how much of training is done (Boundless DAS lowers its temperature). The
    model is frozen, so h_source of every pair and the base prompts' tokens before the patch position
    (`PrefixCache`, same logits and gradients as `dc.patch`) are computed once, before training.
    steps=0 returns the untrained swap.
    """
    s = settings_from(settings, steps=steps, lr=lr, batch_size=batch_size, seed=seed, progress=progress, keep=keep,
                      attribute=attribute, template=template)
    swap = start(model, k, swap, s.seed)
    name = f"{'MDAS' if s.keep else 'DAS'} layer {layer}" + (f", k={k}" if k is not None else "")
    (swap, losses), = train(model, train_pairs, [layer], [swap], [s.seed], s, name)
    return swap, losses


def train_das_many(model, train_pairs: pd.DataFrame, layer: "int | list[int]", runs: "list[tuple[int, int]]",
                   steps: int = 100, lr: float = 3e-3, batch_size: int = 16, progress: bool = True, keep: tuple = (),
                   attribute: str = "country", template=0, on_step=None,
                   settings: "TrainSettings | None" = None) -> "list[tuple[Intervention, list[float]]]":
    """Train one rotation per (k, seed) in `runs`, all at once; returns [(swap, losses), ...] in that order.

    Each run is train_das(model, train_pairs, layer, k, steps, lr, batch_size, seed, ...): its own start,
    its own batches and its own loss. layer: one layer for every run, or a list with one per run (a layer
    sweep). The runs share each step's run through the model (their batches stacked into
    one; a row patched at layer L joins it at block L + 1), which on a CPU costs about half as much per
    pair as a batch of 8 alone. on_step: called with each step's number when it is done. settings: a
    TrainSettings instead of the knobs (its seed is not used: each run has its own). The results equal
    separate train_das runs up to float rounding (which Adam can grow to lr-sized differences in R_k).
    """
    runs = list(runs)
    if not runs:
        raise ValueError("runs is empty: pass a list of (k, seed) pairs, e.g. [(4, 0), (4, 1)].")
    layers = list(layer) if isinstance(layer, (list, tuple)) else [layer] * len(runs)
    if len(layers) != len(runs):
        raise ValueError(f"layer lists {len(layers)} layers for {len(runs)} runs: give one layer per run, or one int.")
    s = settings_from(settings, steps=steps, lr=lr, batch_size=batch_size, progress=progress, keep=keep,
                      attribute=attribute, template=template, on_step=on_step)
    swaps = [fresh_rotation(model, k, seed) for k, seed in runs]
    where = f"layer {layers[0]}" if len(set(layers)) == 1 else f"layers {min(layers)}-{max(layers)}"
    return train(model, train_pairs, layers, swaps, [seed for _, seed in runs], s,
                 f"{'MDAS' if s.keep else 'DAS'} {where}, {len(runs)} runs")


def train_boundless(model, train_pairs: pd.DataFrame, layer: int, boundary: float = 0.5, lr_boundary: float = 1e-2,
                    temperatures: tuple = (50.0, 0.1), penalty_weight: float = 1.0, steps: int = 100,
                    lr: "float | None" = None,
                    batch_size: int = 16, seed: int = 0, progress: bool = True, attribute: str = "country",
                    settings: "TrainSettings | None" = None) -> "tuple[PublishedBoundless, list[float]]":
    """Boundless DAS as published (interventions.PublishedBoundless, pyvene's tutorial's defaults):
    loss = cross-entropy of the source's answer + penalty_weight * boundary, T linear from
    temperatures[0] to temperatures[1], R at `lr` (default 1e-3) and the boundary at `lr_boundary` (1e-2), R's start
    seeded by `seed`. Returns (swap, losses); swap.widths is b before every step and after the last (steps + 1
    values, to plot), swap.step_limit() whether the end width is where the steps ran out. settings: a
    TrainSettings instead of the knobs; it must not Isolate (keep=()): the published loss has no such term."""
    if lr is None:  # the tutorial's 1e-3 without settings; with settings, theirs
        lr = 1e-3 if settings is None else TrainSettings.lr
    s = settings_from(settings, steps=steps, lr=lr, batch_size=batch_size, seed=seed, progress=progress,
                      attribute=attribute)
    if s.keep:
        raise ValueError(f"keep={s.keep}: Boundless DAS as published trains on the Cause loss alone; pass keep=() "
                         f"(dc.BoundlessSubspace with train_das(..., keep=...) is the multi-task variant).")
    swap = seeded(PublishedBoundless, model.config.hidden_size, boundary, temperatures, penalty_weight, lr_boundary,
                  seed=s.seed)
    swap, losses = train_das(model, train_pairs, layer, None, swap=swap, settings=s)
    swap.anneal(1.0)  # the last temperature, and the final b on the trajectory
    return swap, losses


def fresh_rotation(model, k: int, seed: int) -> RotatedSubspace:
    """RotatedSubspace(d, k) with a start seeded by `seed`, leaving the caller's random state alone."""
    return seeded(RotatedSubspace, model.config.hidden_size, k, seed=seed)


def start(model, k: "int | None", swap: "Intervention | None", seed: int) -> Intervention:
    """What training starts from: `swap` as given (then k must be None: the module sets its own size), or
    fresh_rotation(model, k, seed)."""
    if swap is None:
        return fresh_rotation(model, k, seed)
    if k is not None:
        raise ValueError(f"Pass k=None with swap=...: the module {type(swap).__name__} sets its own size.")
    return swap


def loss_terms(model, train_pairs, attribute, keep):
    """The loss terms as (attribute asked, pairs, answer to score per pair): Cause first, then one Isolate
    term per attribute in `keep` on the pairs whose answers for it differ (isolate_pairs)."""
    terms = [(attribute, train_pairs, train_pairs[f"source_{attribute}"])]
    for a in keep:
        pairs = isolate_pairs(model, train_pairs, a)
        if len(pairs) == 0:
            raise ValueError(f"No training pair has base and source {a}s that differ; nothing to keep for {a!r}.")
        terms.append((a, pairs, pairs[f"base_{a}"]))
    return terms


def draw_batch(generator, n, batch_size):
    """`batch_size` row indices out of n, drawn with replacement by `generator`."""
    return torch.randint(n, (batch_size,), generator=generator)


def das_loss(swap, cause, isolate=()):
    """loss = Cause + mean_a Isolate_a + swap.penalty(), from each term's cross-entropy."""
    loss = cause + torch.stack(isolate).mean() if isolate else cause
    return loss + swap.penalty()


def _cached_term(model, pairs, attribute, answers, template):
    """What one loss term needs, computed once since the model is frozen: a PrefixCache of the prompts
    for `attribute` of every city in `pairs`, and each row's base and source index into it (h_source is
    the source's prompt read from the same cache, at each run's layer), and the answer ids to score."""
    cache, row = pairs_cache(model, pairs, attribute, template)
    base_rows, source_rows = (torch.tensor([row[c] for c in pairs[side]]) for side in ("base", "source"))
    return cache, base_rows, source_rows, answer_ids(model, answers)


def train(model, train_pairs, layers, swaps, seeds, settings, name="DAS"):
    """The training loop, for several interventions at once (see train_das_many): run i trains swaps[i] at
    layers[i], draws its batches from a generator seeded with seeds[i] and has its own loss; one step runs
    all their batches together. Returns [(swap, losses), ...]."""
    for layer in layers:
        check_layer(model, layer)
    for swap in swaps:
        if not isinstance(swap, Intervention):
            raise TypeError(f"swap is a {type(swap).__name__}: training needs an Intervention "
                            f"(dascourse.interventions), e.g. a subclass with forward(h_base, h_source).")
    s = settings
    check_pair_columns(train_pairs, [s.attribute, *s.keep])
    if len(train_pairs) == 0:
        raise ValueError("No training pairs given: build them with dc.make_pairs(model, train_cities).")
    for swap in swaps:
        swap.to(torch_module(model).device)  # trains where the model runs (a GPU on Colab)
    if s.steps == 0:
        return [(swap, []) for swap in swaps]
    terms = [_cached_term(model, pairs, a, answers, s.template)
             for a, pairs, answers in loss_terms(model, train_pairs, s.attribute, s.keep)]
    row_layers = torch.tensor(layers).repeat_interleave(s.batch_size)  # the layer of each row of a stacked batch
    # Each intervention's parameter groups (Intervention.param_groups: one group at s.lr unless it asks for its own).
    groups = [group for swap in swaps for group in swap.param_groups() if group["params"]]
    opt = torch.optim.Adam(groups, lr=s.lr)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    losses = [[] for _ in swaps]
    for step in progress_bar(range(s.steps), name, enabled=s.progress):
        for swap in swaps:
            swap.anneal(step / s.steps)
        term_losses = [[] for _ in swaps]  # [run][term]
        with parametrize.cached():  # each orthogonal R is computed once per step, not once per term
            for cache, base_rows, source_rows, targets in terms:
                idx = [draw_batch(g, len(targets), s.batch_size) for g in generators]
                h_source = [cache.states_at(L)[source_rows[i], 0, :] for L, i in zip(layers, idx)]

                def intervention(h_base):  # rows i*batch_size .. (i+1)*batch_size - 1 belong to run i
                    return torch.cat([swap(h, h_s) for swap, h, h_s in zip(swaps, h_base.split(s.batch_size), h_source)])  # noqa: B023

                logits = cache.patch(base_rows[torch.cat(idx)], row_layers, intervention)
                for run, (rows, run_logits) in enumerate(zip(idx, logits.split(s.batch_size))):
                    term_losses[run].append(F.cross_entropy(run_logits, targets[rows].to(logits.device)))
        run_losses = [das_loss(swap, cause, isolate) for swap, (cause, *isolate) in zip(swaps, term_losses)]
        opt.zero_grad()
        total = torch.stack(run_losses).sum()  # run i's parameters get the gradient of run i's loss alone
        total.backward()  # on its own line: nnsight patches Tensor.backward
        opt.step()
        for run_list, loss in zip(losses, run_losses):
            run_list.append(loss.item())
        if s.on_step is not None:
            s.on_step(step)
    return list(zip(swaps, losses))
