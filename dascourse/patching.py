"""Read and overwrite the residual stream at a city's last token -- the one primitive every chapter uses.

"The residual stream at layer L" is the output of decoder layer L (0-based), i.e. the hidden state
after L+1 blocks. Chapter 1 replaces it with the source's (h' = h_source), chapter 2 swaps some neurons,
chapters 3-5 swap a rotated subspace; all are an `intervention(h_base) -> h'` passed to `patch`.
Works for Llama-style models (`model.model.layers`), which covers SmolLM2 and Llama-3.2.
"""
from numbers import Integral

import torch

from .prompts import city_positions


def check_layer(model, layer):
    n = model.config.num_hidden_layers
    # Integral, not int: a layer taken from np.arange(...) is fine too.
    if not (isinstance(layer, Integral) and not isinstance(layer, bool) and 0 <= layer < n):
        raise ValueError(f"layer={layer!r} is out of range: this model has layers 0..{n - 1}; pass an integer "
                         f"between them.")


def fit_patch(h_new, h_base):
    """intervention(h_base), checked and made ready to write back: h_base's shape, dtype and device.

    A state or rotation kept in float32 on the CPU may patch a model that runs in bfloat16 on a GPU,
    and a single [d] vector may stand for every row; anything else is a mistake worth naming.
    """
    try:
        return h_new.to(h_base).expand_as(h_base)
    except RuntimeError:
        raise ValueError(
            f"The intervention returned shape {tuple(h_new.shape)} for h_base of shape {tuple(h_base.shape)}: "
            f"it must return one row per prompt. Pass as many source states (or source prompts) as base prompts."
        ) from None


def last_city_positions(model, prompts: "list[str]", cities: "list[str]") -> "list[int]":
    """The position of each city's last token in the padded batch of `prompts`."""
    return torch.tensor([p[-1] for p in city_positions(model.tokenizer, prompts, cities)])


def hidden_at_city(model, prompts: "list[str]", cities: "list[str]", layer: int) -> torch.Tensor:
    """h at layer `layer`, at each city's last token: a [len(prompts), d] tensor."""
    check_layer(model, layer)
    rows, pos = torch.arange(len(prompts)), last_city_positions(model, prompts, cities)
    with model.trace(list(prompts)):
        h = model.model.layers[layer].output[rows, pos, :].save()
    return h


def patch(model, prompts: "list[str]", cities: "list[str]", layer: int, intervention) -> torch.Tensor:
    """Logits after each prompt when h at (layer, city's last token) becomes intervention(h_base).

    The patch is written into a clone of the layer's output: writing into the tensor the layer
    returned would break autograd, and gradients must flow when the intervention is trained.
    """
    check_layer(model, layer)
    rows, pos = torch.arange(len(prompts)), last_city_positions(model, prompts, cities)
    with model.trace(list(prompts)):
        out = model.model.layers[layer].output
        new = out.clone()
        h_base = out[rows, pos, :]
        new[rows, pos, :] = fit_patch(intervention(h_base), h_base)
        model.model.layers[layer].output = new
        logits = model.lm_head.output[:, -1, :].save()
    return logits
