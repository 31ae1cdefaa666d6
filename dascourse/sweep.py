"""Patch the residual stream at any layer and token position -- chapter 1's map of where a fact lives.

`dc.patch` always patches the city's last token. To see *where* a fact is stored we patch every
(layer, position) in turn. Positions here are negative, counted from the end as in Python (-1 is the
last token), for two reasons: a base and a source prompt then line up token for token after the city
even when the city names have different lengths (" Paris" is one token, " Rio de Janeiro" three), and
in a left-padded batch position -j is the same column in every row.
"""
import nnsight
import torch

from .patching import check_layer


def check_positions(model, prompts, positions):
    """Every position must be negative and fall inside every prompt (not on its left padding)."""
    if len(prompts) == 0:
        raise ValueError("No prompts given: pass at least one prompt.")
    positions = torch.as_tensor(positions).reshape(-1)
    shortest = min(len(ids) for ids in model.tokenizer(list(prompts))["input_ids"])
    bad = [p for p in positions.tolist() if not -shortest <= p <= -1]
    if bad:
        raise ValueError(
            f"Positions {bad} are out of range: use negative positions from -1 (last token) to -{shortest} "
            f"(the shortest prompt has {shortest} tokens)."
        )
    return positions


def hidden_from_end(model, prompts, layers, positions):
    """h at every layer in `layers` and every (negative) position in `positions`.

    Returns a [len(prompts), len(layers), len(positions), d] tensor: entry [i, a, b] is the output of
    decoder layer layers[a] for prompt i at its token positions[b].
    """
    layers = list(layers)
    for layer in layers:
        check_layer(model, layer)
    if not layers or layers != sorted(set(layers)):
        raise ValueError(f"layers={layers}: pass at least one layer, in increasing order (nnsight reads modules "
                         "in forward order), without repeats.")
    positions = check_positions(model, prompts, positions)
    with model.trace(list(prompts), logits_to_keep=1):  # no logits are needed; keep only one position's
        hs = nnsight.save([])
        for layer in layers:
            hs.append(model.model.layers[layer].output[:, positions, :])
    return torch.stack(list(hs), dim=1)


def patch_from_end(model, prompts, layer, positions, h_new):
    """Last-token logits [B, vocab] when h of prompt i at (layer, positions[i]) is replaced by h_new[i].

    positions: one negative position per prompt (-1 is the last token). h' = h_new at that single
    (layer, token); everything else runs as usual, so later layers and tokens see the patched value.
    """
    check_layer(model, layer)
    positions = check_positions(model, prompts, positions)
    if not len(positions) == len(h_new) == len(prompts):
        raise ValueError(f"Got {len(prompts)} prompts, {len(positions)} positions and {len(h_new)} rows of h_new: "
                         "pass one of each per prompt.")
    rows = torch.arange(len(prompts))
    with model.trace(list(prompts), logits_to_keep=1):  # only the last token's logits are read
        model.model.layers[layer].output[rows, positions, :] = h_new
        logits = model.lm_head.output[:, -1, :].save()
    return logits


def position_sweep(model, base_prompts, source_prompts, layers, positions, answer_ids, batch_size=32):
    """Log-probabilities of answers when the source's h replaces the base's at each (layer, position).

    For pair i, layer L = layers[a] and position p = positions[b]: h of base_prompts[i] at (L, p)
    becomes h of source_prompts[i] at (L, p), and we read log p(answer_ids[i][c]) at the last token.
    Returns a [n_pairs, len(layers), len(positions), n_answers] tensor. All (pair, position)
    combinations of one layer are run as one batch, so the cost is len(layers) x n_pairs x
    len(positions) forward passes, batch_size at a time.
    """
    if len(base_prompts) != len(source_prompts):
        raise ValueError(f"{len(base_prompts)} base prompts but {len(source_prompts)} source prompts: pass pairs.")
    positions = check_positions(model, list(base_prompts) + list(source_prompts), positions)
    answer_ids = torch.stack([torch.as_tensor(ids).reshape(-1) for ids in answer_ids])  # [n_pairs, n_answers]
    if len(answer_ids) != len(base_prompts):
        raise ValueError(f"{len(answer_ids)} rows of answer_ids for {len(base_prompts)} pairs: pass one row per pair.")
    n, n_pos = len(base_prompts), len(positions)
    h_source = torch.cat([hidden_from_end(model, source_prompts[i : i + batch_size], layers, positions)
                          for i in range(0, n, batch_size)])
    pair = torch.arange(n).repeat_interleave(n_pos)  # every (pair, position) combination, flattened
    pos = torch.arange(n_pos).repeat(n)
    out = torch.empty(n, len(layers), n_pos, answer_ids.shape[1])
    for a, layer in enumerate(layers):
        for chunk in torch.arange(n * n_pos).split(batch_size):
            i, b = pair[chunk], pos[chunk]
            logits = patch_from_end(model, [base_prompts[k] for k in i], layer, positions[b], h_source[i, a, b])
            out[i, a, b] = logits.float().log_softmax(-1).gather(1, answer_ids[i].to(logits.device)).cpu()
    return out
