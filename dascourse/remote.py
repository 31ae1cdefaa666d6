"""Scaling up (chapter 8): the same DAS where the model lives -- a GPU, or NDIF for models too big for one.

With NDIF (the National Deep Inference Fabric) the weights never reach your machine:
`with model.session(remote=True):` ships the body of the block to the server, which runs it on its
copy of the model and sends back only what the body saved. So the whole training loop -- build R_k,
patch h' = h_base + R_k^T R_k (h_source - h_base), backward, Adam step, repeat -- sits inside ONE
session: prompts, positions, batch indices and answer ids travel there once, and only the trained
R_k and the losses come back. One request per step would wait on the network 100 times instead.

What runs on the server is plain torch plus the dascourse helpers it calls (`patch`,
`hidden_at_city`, `RotatedSubspace`). NDIF does not have dascourse installed, so we ship its code with
each request (`nnsight.register`, by value) and keep pandas (and caches) out of the session body.
`remote=False` runs the same code here; `remote="local"` serializes the request exactly as NDIF
would and runs it here, which is how the tests keep this file honest without a server.
"""
import nnsight
import torch
import torch.nn.functional as F

import dascourse

from .das import answer_ids, iia, train_das
from .facts import next_token_logits
from .model import ModelUnavailableError
from .patching import hidden_at_city, patch
from .prompts import make_prompt
from .rotation import RotatedSubspace

# The NDIF server lacks dascourse: send the source of its functions and classes with each request.
nnsight.register(dascourse)


def load_remote_model(name):
    """An nnsight model that names `name` (a Hugging Face id NDIF serves, e.g.
    "meta-llama/Llama-3.1-70B") without loading its weights here: only the config and the tokenizer
    are fetched; the module tree sits on the meta device, and every trace must run with remote=True.
    """
    from nnsight import TransformersModel

    try:
        model = TransformersModel(name, task="text-generation")
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelUnavailableError(
            f"Could not fetch the config and tokenizer of {name!r} from the Hugging Face hub ({err}). "
            f"Check the id, your network and, for a gated model, your hub login (HF_TOKEN)."
        ) from None
    if model.tokenizer.pad_token is None:  # Llama tokenizers have none; batches need one
        model.tokenizer.pad_token = model.tokenizer.eos_token
    model.name = name
    return model


def _rotation_from(state, d, k):
    # A parametrized module does not pickle, its state_dict (plain tensors) does: we ship the state
    # and rebuild the RotatedSubspace on whichever side needs it.
    rotation = RotatedSubspace(d, k)
    rotation.load_state_dict(state)
    return rotation


def _source_states(model, cities, layer, batch_size=64):
    """h_source of each distinct city, {city: [d] tensor}, computed where the model is. (das.source_states
    keeps its results in an lru_cache on this machine, which cannot travel with a request.)"""
    cities = list(dict.fromkeys(cities))
    chunks = [cities[i : i + batch_size] for i in range(0, len(cities), batch_size)]
    h = torch.cat([hidden_at_city(model, [make_prompt(c) for c in chunk], chunk, layer) for chunk in chunks])
    return dict(zip(cities, h))


def _patched_logits(model, bases, layer, rotation, h_source):
    """Last-token logits of the base prompts with h' = rotation(h_base, h_source) at each base city."""
    prompts = [make_prompt(c) for c in bases]
    return patch(model, prompts, bases, layer, lambda h_base: rotation(h_base, h_source))


def train_das_remote(model, train_pairs, layer, k, steps=100, lr=3e-3, batch_size=16, seed=0, remote=True):
    """das.train_das (plain DAS on the country), with the whole loop inside one
    `model.session(remote=remote)`. Returns (rotation, losses) like train_das.

    Same seeded start and the same batches as train_das, so on one model the two agree up to float
    rounding; each step runs the full prompts through `dc.patch` (train_das's PrefixCache reaches
    into the local module, which a remote model does not have).
    remote: True (NDIF), False (here), or "local" (serialized as for NDIF, run here).
    """
    start, _ = train_das(model, train_pairs, layer, k, steps=0, seed=seed)  # checks the arguments
    bases, sources = list(train_pairs["base"]), list(train_pairs["source"])
    targets = answer_ids(model, train_pairs["source_country"])
    # The batch indices train_das would draw, drawn here: the server needs no generator of ours.
    generator = torch.Generator().manual_seed(seed)
    batches = [torch.randint(len(bases), (batch_size,), generator=generator).tolist() for _ in range(steps)]
    d, init = model.config.hidden_size, start.state_dict()
    with model.session(remote=remote):
        states = _source_states(model, sources, layer)
        device = next(iter(states.values())).device
        rotation = _rotation_from(init, d, k).to(device)
        opt = torch.optim.Adam(rotation.parameters(), lr=lr)
        losses = nnsight.save([])
        for idx in batches:
            h_source = torch.stack([states[sources[i]] for i in idx])
            logits = _patched_logits(model, [bases[i] for i in idx], layer, rotation, h_source)
            loss = F.cross_entropy(logits, targets[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        state = nnsight.save({name: t.detach().cpu() for name, t in rotation.state_dict().items()})
    return _rotation_from(state, d, k), list(losses)


def iia_remote(model, pairs, layer, rotation, batch_size=32, remote=True):
    """IIA (das.iia) of `rotation` at `layer` on `pairs`, computed in one session where the model is:
    only the score comes back, not [len(pairs), vocab] logits."""
    if len(pairs) == 0:
        raise ValueError("No pairs given.")
    bases, sources = list(pairs["base"]), list(pairs["source"])
    targets = answer_ids(model, pairs["source_country"])
    d, k, state = rotation.d, rotation.k, rotation.state_dict()
    with model.session(remote=remote):
        states = _source_states(model, sources, layer)
        device = next(iter(states.values())).device
        swap = _rotation_from(state, d, k).to(device).requires_grad_(False)  # no graph: we only evaluate
        logits = []
        for i in range(0, len(bases), batch_size):
            h_source = torch.stack([states[c] for c in sources[i : i + batch_size]])
            logits.append(_patched_logits(model, bases[i : i + batch_size], layer, swap, h_source).cpu())
        score = nnsight.save(iia(torch.cat(logits), targets))
    return score


def top_tokens_remote(model, prompts, batch_size=32, remote=True):
    """The id of the model's most likely next token after each prompt, computed where the model is
    (to keep the cities a remote model knows, as dc.knows does locally)."""
    with model.session(remote=remote):
        top = nnsight.save(next_token_logits(model, prompts, batch_size).argmax(-1))
    return top
