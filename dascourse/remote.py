"""Scaling up (chapter 8): the same DAS where the model lives -- a GPU, or NDIF for models too big for one.

With NDIF (the National Deep Inference Fabric) the weights never reach your machine:
`with model.session(remote=True):` ships the body of the block to the server, which runs it on its
copy of the model and sends back only what the body saved. So the whole training loop -- build R_k,
patch h' = h_base + R_k^T R_k (h_source - h_base), backward, Adam step, repeat -- sits inside ONE
session: prompts, positions, batch indices and answer ids travel there once, and only the trained
R_k and the losses come back. One request per step would wait on the network 100 times instead.

What runs on the server is plain torch plus the dascourse helpers it calls (`patch`, `hidden_at_city`,
the interventions, the loss of train.py). NDIF does not have dascourse installed, so each request ships
its code (`ship_dascourse`: nnsight.register, by value) and keeps pandas (and caches) out of the session
body. `remote=False` runs the same code here; `remote="local"` serializes the request exactly as NDIF
would and runs it here, which is how the tests keep this file honest without a server.
"""
import nnsight
import torch
import torch.nn.functional as F

import dascourse

from .facts import next_token_logits
from .metrics import iia
from .model import ModelUnavailableError
from .pairs import answer_ids
from .patching import hidden_at_city, patch
from .prompts import make_prompt
from .train import TrainSettings, das_loss, draw_batch, loss_terms, settings_from, train_das


def ship_dascourse():
    """Send the source of dascourse's functions and classes with each request (the NDIF server lacks
    dascourse). Called by every helper here before its session; calling it again changes nothing."""
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


def _rebuild(cls, config, state):
    # A parametrized module does not pickle, its state_dict (plain tensors) does: we ship the class, its
    # config and its state, and rebuild the intervention on whichever side needs it (as storage.py does).
    swap = cls(**config)
    swap.load_state_dict(state)
    return swap


def _source_states(model, cities, layer, attribute="country", template=0, batch_size=64):
    """h_source of each distinct city, {city: [d] tensor}, computed where the model is by full runs of its
    prompts (pairs.source_states reads them from PrefixCaches, which reach into the local torch module: a
    remote model has none here, and they could not travel with a request)."""
    cities = list(dict.fromkeys(cities))
    chunks = [cities[i : i + batch_size] for i in range(0, len(cities), batch_size)]
    h = torch.cat([hidden_at_city(model, [make_prompt(c, attribute, template) for c in chunk], chunk, layer)
                   for chunk in chunks])
    return dict(zip(cities, h))


def _patched_logits(model, bases, layer, swap, h_source, attribute="country", template=0):
    """Last-token logits of the base prompts with h' = swap(h_base, h_source) at each base city."""
    prompts = [make_prompt(c, attribute, template) for c in bases]
    return patch(model, prompts, bases, layer, lambda h_base: swap(h_base, h_source))


def train_das_remote(model, train_pairs, layer: int, k: "int | None", steps: int = 100, lr: float = 3e-3,
                     batch_size: int = 16, seed: int = 0, remote=True, keep: tuple = (), attribute: str = "country",
                     swap=None, template=0, settings: "TrainSettings | None" = None):
    """dc.train_das with the whole loop inside one `model.session(remote=remote)`. Returns (swap, losses)
    like train_das: the same seeded start, the same batches, the same loss (train.das_loss, with the hooks
    anneal and penalty), so on one model the two agree up to float rounding; each step runs the full prompts
    through `dc.patch` (train_das's PrefixCache reaches into the local module, which a remote model does
    not have). keep, attribute, swap, template, settings: as for train_das.
    remote: True (NDIF), False (here), or "local" (serialized as for NDIF, run here).
    """
    s = settings_from(settings, steps=steps, lr=lr, batch_size=batch_size, seed=seed, keep=keep,
                      attribute=attribute, template=template)
    first, _ = train_das(model, train_pairs, layer, k, swap=swap,  # checks the arguments; the seeded start
                         settings=TrainSettings(steps=0, seed=s.seed, keep=s.keep, attribute=s.attribute,
                                                template=s.template))
    steps, lr, batch_size, seed, keep, attribute, template = (s.steps, s.lr, s.batch_size, s.seed, s.keep,
                                                               s.attribute, s.template)
    # Each term as plain lists (no pandas on the server), and the batch indices train_das would draw, drawn
    # here in its order (step by step, term by term): the server needs no generator of ours.
    terms = [(a, list(pairs["base"]), list(pairs["source"]), answer_ids(model, answers))
             for a, pairs, answers in loss_terms(model, train_pairs, attribute, keep)]
    generator = torch.Generator().manual_seed(seed)
    batches = [[draw_batch(generator, len(targets), batch_size).tolist() for *_, targets in terms]
               for _ in range(steps)]
    cls, config, init = type(first), first.config(), {name: t.cpu() for name, t in first.state_dict().items()}
    ship_dascourse()
    # The body names no variable that holds a module (the argument `swap`, `first`): nnsight would ship
    # it, and a parametrized module does not pickle.
    with model.session(remote=remote):
        states = [_source_states(model, sources, layer, a, template) for a, _, sources, _ in terms]
        device = next(iter(states[0].values())).device
        trained = _rebuild(cls, config, init).to(device)
        opt = torch.optim.Adam(trained.parameters(), lr=lr)
        losses = nnsight.save([])
        for step, step_batches in enumerate(batches):
            trained.anneal(step / steps)
            term_losses = []
            for (a, bases, sources, targets), term_states, idx in zip(terms, states, step_batches):
                h_source = torch.stack([term_states[sources[i]] for i in idx])
                logits = _patched_logits(model, [bases[i] for i in idx], layer, trained, h_source, a, template)
                term_losses.append(F.cross_entropy(logits, targets[idx].to(device)))
            loss = das_loss(trained, term_losses[0], term_losses[1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        state = nnsight.save({name: t.detach().cpu() for name, t in trained.state_dict().items()})
        config = nnsight.save(trained.config())  # e.g. Boundless DAS's final temperature
    return _rebuild(cls, config, state), list(losses)


def iia_remote(model, pairs, layer, rotation, batch_size=32, remote=True, attribute="country", template=0):
    """IIA (metrics.iia) of `rotation` (any Intervention) at `layer` on `pairs`, computed in one session where
    the model is: only the score comes back, not [len(pairs), vocab] logits."""
    if len(pairs) == 0:
        raise ValueError("No pairs given.")
    bases, sources = list(pairs["base"]), list(pairs["source"])
    targets = answer_ids(model, pairs[f"source_{attribute}"])
    cls, config = type(rotation), rotation.config()
    state = {name: t.cpu() for name, t in rotation.state_dict().items()}
    ship_dascourse()
    with model.session(remote=remote):
        states = _source_states(model, sources, layer, attribute, template)
        device = next(iter(states.values())).device
        swap = _rebuild(cls, config, state).to(device).requires_grad_(False)  # no graph: we only evaluate
        logits = []
        for i in range(0, len(bases), batch_size):
            h_source = torch.stack([states[c] for c in sources[i : i + batch_size]])
            logits.append(_patched_logits(model, bases[i : i + batch_size], layer, swap, h_source, attribute,
                                          template).cpu())
        score = nnsight.save(iia(torch.cat(logits), targets))
    return score


def top_tokens_remote(model, prompts, batch_size=32, remote=True):
    """The id of the model's most likely next token after each prompt, computed where the model is
    (to keep the cities a remote model knows, as dc.knows does locally)."""
    ship_dascourse()
    with model.session(remote=remote):
        top = nnsight.save(next_token_logits(model, prompts, batch_size).argmax(-1))
    return top
