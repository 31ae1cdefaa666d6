"""python -m dascourse.bench -- how long one DAS training step takes, the plain way and dascourse's way.

(a) plain: one nnsight trace per step runs the source prompts and the base prompts through the whole
    model, patches the rotated subspace and backpropagates.
(b) dascourse: the sources' h_source computed once; the base prompts' tokens before the patch
    position run once into a KV cache, and the tokens from it on run once up to the patched layer
    (`dascourse.prefix_cache.PrefixCache`); each step runs only the layers above, and logits at the last token.
(c) pyvene's LowRankRotatedSpaceIntervention, when pyvene is installed (an optional extra).

Same model, batch, layer, k and rotation start for all. Prints the median step time of each after
warm-up, checks that (b) gives the same loss and gradients as (a), and ends with one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from .facts import answer_token, known_facts
from .interventions import RotatedSubspace
from .model import load_model, set_seed, torch_module
from .patching import hidden_at_city
from .prefix_cache import PrefixCache
from .prompts import city_positions, make_prompt


def benchmark_pairs(model, n):
    """n (base, source) city pairs with different countries, from the cities the model knows."""
    known = known_facts(model, "country")
    bases = known.iloc[: 2 * n : 2]
    sources = known.iloc[1 : 2 * n : 2]
    if len(bases) < n or len(sources) < n:
        raise ValueError(f"Need {2 * n} known cities for a batch of {n}; the model knows {len(known)}.")
    return list(bases.city), list(sources.city), list(sources.country)


def plain_step(model, rotation, layer, base_cities, source_cities, targets):
    """One trace, two invokes: sources then bases, batched together by nnsight."""
    base_prompts = [make_prompt(c) for c in base_cities]
    source_prompts = [make_prompt(c) for c in source_cities]
    # nnsight pads the invokes' prompts as one batch, so positions are found in that joint batch.
    positions = city_positions(model.tokenizer, source_prompts + base_prompts, source_cities + base_cities)
    n = len(base_cities)
    rows = torch.arange(n)
    pos_source = torch.tensor([p[-1] for p in positions[:n]])
    pos_base = torch.tensor([p[-1] for p in positions[n:]])
    with model.trace() as tracer:
        barrier = tracer.barrier(2)
        with tracer.invoke(source_prompts):
            h_source = model.model.layers[layer].output[rows, pos_source, :]
            barrier()
        with tracer.invoke(base_prompts):
            barrier()
            out = model.model.layers[layer].output
            new = out.clone()
            new[rows, pos_base, :] = rotation(out[rows, pos_base, :], h_source)
            model.model.layers[layer].output = new
            logits = model.lm_head.output[:, -1, :].save()
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    return loss


def dascourse_step(cache, rotation, layer, h_source, targets):
    logits = cache.patch(torch.arange(len(targets)), layer, lambda h_base: rotation(h_base, h_source))
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    return loss


def pyvene_step_fn(model, rotation, layer, base_cities, source_cities, targets):
    """pyvene's LowRankRotatedSpaceIntervention on the same batch, started from the same R_k;
    None when pyvene is not installed."""
    try:
        import pyvene as pv
    except ImportError:
        return None
    config = pv.IntervenableConfig(
        representations=[{"layer": layer, "component": "block_output", "low_rank_dimension": rotation.k}],
        intervention_types=pv.LowRankRotatedSpaceIntervention,
    )
    intervenable = pv.IntervenableModel(config, torch_module(model))
    (intervention,) = intervenable.interventions.values()
    with torch.no_grad():
        intervention.rotate_layer.weight = rotation.R_k.detach().T.clone()  # pyvene stores R_k^T
    tok = model.tokenizer
    base_prompts = [make_prompt(c) for c in base_cities]
    source_prompts = [make_prompt(c) for c in source_cities]
    base, source = (tok(p, return_tensors="pt", padding=True).to(targets.device) for p in (base_prompts, source_prompts))
    last = [[[p[-1]] for p in city_positions(tok, ps, cs)] for ps, cs in
            ((source_prompts, source_cities), (base_prompts, base_cities))]

    def step():
        _, out = intervenable(base, [source], unit_locations={"sources->base": ([last[0]], [last[1]])})
        loss = F.cross_entropy(out.logits[:, -1, :], targets)
        loss.backward()
        return loss

    return step


def timed(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # GPU work is asynchronous: wait for it before reading the clock
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loss_and_grad(step, rotation):
    rotation.zero_grad()
    loss = step()
    grad = torch.cat([p.grad.flatten() for p in rotation.parameters()])
    return loss.detach(), grad


def rel(a, b):
    return ((a - b).norm() / a.norm()).item()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dascourse.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model name (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--layer", type=int, default=8)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per method (after warm-up)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default=None, help='"cpu" or "cuda" (default: cuda when available)')
    args = parser.parse_args(argv)

    model = load_model(args.model, device=args.device)
    set_seed(0)
    device = torch_module(model).device
    rotation = RotatedSubspace(model.config.hidden_size, args.k).to(device)
    base_cities, source_cities, source_countries = benchmark_pairs(model, args.batch)
    targets = torch.tensor([answer_token(model.tokenizer, c, first_token_only=True) for c in source_countries],
                           device=device)

    def plain():
        return plain_step(model, rotation, args.layer, base_cities, source_cities, targets)

    # What (b) computes once, before training, is timed apart: it is paid once, not per step.
    start = time.perf_counter()
    h_source = hidden_at_city(model, [make_prompt(c) for c in source_cities], source_cities, args.layer).detach()
    cache = PrefixCache(model, [make_prompt(c) for c in base_cities], base_cities)
    cache.states_at(args.layer)
    setup_s = time.perf_counter() - start

    def fast():
        return dascourse_step(cache, rotation, args.layer, h_source, targets)

    loss_a, grad_a = loss_and_grad(plain, rotation)
    loss_b, grad_b = loss_and_grad(fast, rotation)
    max_rel_diff = max(abs(loss_a - loss_b).item() / abs(loss_a).item(), rel(grad_a, grad_b))

    print(f"model {model.name}, batch {args.batch}, layer {args.layer}, k {args.k}, "
          f"{torch.get_num_threads()} threads, device {model.device}")
    plain_s = timed(plain, args.warmup, args.steps)
    print(f"(a) plain step:     {plain_s:.3f} s (median of {args.steps})")
    dascourse_s = timed(fast, args.warmup, args.steps)
    print(f"(b) dascourse step: {dascourse_s:.3f} s (median of {args.steps}; one-off setup {setup_s:.2f} s)")
    result = {
        "plain_s": round(plain_s, 4),
        "dascourse_s": round(dascourse_s, 4),
        "speedup": round(plain_s / dascourse_s, 2),
        "max_rel_diff": float(f"{max_rel_diff:.2e}"),
        "setup_s": round(setup_s, 3),
    }
    print(f"same loss and gradients: max relative difference {max_rel_diff:.1e} "
          f"({'ok' if max_rel_diff < 1e-4 else 'TOO LARGE'})")
    pyvene = pyvene_step_fn(model, rotation, args.layer, base_cities, source_cities, targets)
    if pyvene is None:
        print("(c) pyvene: not installed, not measured (optional: pip install --no-deps pyvene)")
    else:
        rotation.zero_grad()
        loss_c = pyvene()
        result["pyvene_s"] = round(timed(pyvene, args.warmup, args.steps), 4)
        print(f"(c) pyvene step:    {result['pyvene_s']:.3f} s (median of {args.steps}; "
              f"loss differs from (a) by {abs(loss_c - loss_a).item() / abs(loss_a).item():.1e} relative)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
