"""Fast patching for training: compute once what does not change from step to step.

A DAS step patches one position p (the city's last token) at one layer L. The model is frozen and
attention is causal, so three things are the same in every step:

1. the tokens before p: no token before p ever sees the patch, so their keys and values at every layer
   are computed once (a KV cache of the "prefix");
2. the tokens from p on, below the patch: layers 0..L never see it either, so the output of layer L at
   p and after (the "suffix": " Paris is in the country of" -> ~6 tokens) is computed once (every
   layer's, in one forward pass, so a sweep over layers reuses it);
3. every logit but the last position's, which no loss reads.

`PrefixCache` keeps 1 and 2; each step then runs only the suffix through layers L+1.. (attending to the
cached prefix) and the unembedding at the last position only. The arithmetic on what remains is the same
as in the full run, so logits and gradients match `dascourse.patch` up to float rounding (see
tests/test_fast.py and `python -m dascourse.bench`). Running the layers one by one is written for
Llama-style models (`model.model.layers`, `.rotary_emb`, `.norm`); a check on the first use of each
layer compares with the model's own forward pass and refuses a model it does not reproduce.
"""
from collections import OrderedDict

import torch
from transformers import DynamicCache
from transformers.masking_utils import create_causal_mask

from .model import torch_module
from .patching import check_layer, fit_patch
from .prompts import PLACEHOLDER, city_positions


class PrefixCache:
    """The KV cache of every prompt's tokens before its city's last token, plus the tokens after.

    cache = PrefixCache(model, prompts, cities)
    cache.patch(rows, layer, intervention)  ==  dc.patch(model, prompts[rows], cities[rows], layer, intervention)
    """

    def __init__(self, model, prompts, cities, batch_size=32):
        self.model, self.batch_size = model, batch_size
        tok = model.tokenizer
        ids = [tok(p)["input_ids"] for p in prompts]
        # Positions in each prompt alone (a batch of one has no padding).
        cut = [city_positions(tok, [p], [c])[0][-1] for p, c in zip(prompts, cities)]
        prefixes = [x[:i] for x, i in zip(ids, cut)]
        suffixes = [x[i:] for x, i in zip(ids, cut)]
        self.prefix_mask = _left_padded_mask(prefixes)
        self.prefix_len = self.prefix_mask.sum(-1)
        # Suffixes are right-padded: causal attention keeps real tokens from seeing the padding after them.
        width = max(map(len, suffixes))
        self.suffix_ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in suffixes])
        self.suffix_mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in suffixes])
        self.last = self.suffix_mask.sum(-1) - 1  # the suffix's last real token: where the answer is read
        self.keys, self.values = self._run_prefixes(prefixes)
        self.suffix_states = {}  # layer -> [prompts, suffix, d]: the output of that layer, before any patch
        self.checked = set()  # layers whose layer-by-layer run has been compared with the model's forward

    def __len__(self):
        return len(self.suffix_ids)

    @torch.no_grad()
    def _run_prefixes(self, prefixes):
        """Keys and values of every prefix, one tensor per layer: [prompts, kv_heads, P, head_dim], each
        prefix right-aligned (left padding, zeros, masked out). The few-shot examples that open every
        prompt are the same tokens, so they run once; the rest of each prefix (the city's tokens before its
        last) then runs on top of them, in batches of prompts whose rest has the same length (no padding)."""
        hf, P = torch_module(self.model), self.prefix_mask.shape[1]
        n_common = _common_length(prefixes)
        common = None
        if n_common:
            out = hf(input_ids=torch.tensor([prefixes[0][:n_common]], device=hf.device), use_cache=True,
                     logits_to_keep=1)
            common = [(layer.keys, layer.values) for layer in out.cache.layers]
        config = self.model.config
        keys = values = None
        rest_len = torch.tensor([len(x) - n_common for x in prefixes])
        for r in rest_len.unique().tolist():
            group = torch.nonzero(rest_len == r).flatten()
            for rows in group.split(self.batch_size):
                n = len(rows)
                past = [(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in common] if common else []
                if r:
                    ids = torch.tensor([prefixes[i][n_common:] for i in rows], device=hf.device)
                    cache = DynamicCache(ddp_cache_data=past, config=config) if past else DynamicCache(config=config)
                    out = hf(input_ids=ids, position_ids=(n_common + torch.arange(r, device=hf.device)).expand(n, r),
                             cache=cache, use_cache=True, logits_to_keep=1)
                    past = [(layer.keys, layer.values) for layer in out.cache.layers]
                if keys is None and past:  # the first group that has keys and values gives their shapes
                    keys = [k.new_zeros(len(prefixes), k.shape[1], P, k.shape[3]) for k, _ in past]
                    values = [v.new_zeros(len(prefixes), v.shape[1], P, v.shape[3]) for _, v in past]
                for layer, (k, v) in enumerate(past):
                    keys[layer][rows, :, P - k.shape[2]:] = k
                    values[layer][rows, :, P - v.shape[2]:] = v
        return keys, values

    def patch(self, rows, layer, intervention):
        """Logits after prompts[rows] when h at (layer, city's last token) becomes intervention(h_base).

        layer: one layer for every row, or one per row (runs at several layers, stacked into one batch)."""
        rows = torch.as_tensor(rows)
        if not isinstance(layer, (list, tuple, torch.Tensor)):
            check_layer(self.model, layer)  # a clear error for a bad layer (e.g. "8") before it becomes a tensor
        layers = torch.as_tensor(layer).expand(len(rows))
        order = torch.argsort(layers, stable=True)  # rows patched at a lower layer join the run earlier
        undo = torch.argsort(order)
        rows, layers = rows[order], layers[order]
        # [rows, suffix, d]; column 0 is the city's last token (unique() is sorted, like the rows)
        h = torch.cat([self.states_at(L)[rows[layers == L]] for L in layers.unique().tolist()])
        h_base = h[undo, 0, :]  # in the caller's order, which the intervention expects
        h_new = fit_patch(intervention(h_base), h_base)[order]
        h = torch.cat([h_new[:, None, :], h[:, 1:, :]], dim=1)
        return self._run_above(layers, rows, h)[undo]

    def _inputs(self, rows):
        """Attention mask over prefix + suffix, and the suffix's position ids, for prompts[rows]."""
        device = torch_module(self.model).device
        mask = torch.cat([self.prefix_mask[rows], self.suffix_mask[rows]], dim=1)
        positions = self.prefix_len[rows, None] + torch.arange(self.suffix_ids.shape[1])
        return mask.to(device), positions.to(device)

    def _kv_cache(self, rows, joined=None):
        """The cached prefix keys and values of prompts[rows]; with joined, block j gets those of rows[:joined[j]]
        (one row at least: blocks that no row runs are never called, and an empty batch would read as an empty
        prefix where the attention mask asks the cache for its length)."""
        joined = joined or [len(rows)] * len(self.keys)
        return DynamicCache(ddp_cache_data=[(k[rows[: max(n, 1)]], v[rows[: max(n, 1)]])
                                            for k, v, n in zip(self.keys, self.values, joined)], config=self.model.config)

    def _run_above(self, layers, rows, h):
        """Run the suffix states h (row i: the output of layer layers[i]) through the layers above it; logits at
        the last token. Rows come sorted by layer, so the rows that run in block j are the first n_j, those
        patched below j: a row patched at layer L joins the batch at block L + 1."""
        body = torch_module(self.model).model
        joined = torch.searchsorted(layers, torch.arange(len(body.layers))).tolist()  # n_j
        cache = self._kv_cache(rows, joined)
        mask, positions = self._inputs(rows)
        causal = create_causal_mask(config=self.model.config, inputs_embeds=h, attention_mask=mask, cache=cache,
                                    position_ids=positions)
        cos, sin = body.rotary_emb(h, position_ids=positions)
        x = h[:0]
        for j in range(int(layers[0]) + 1, len(body.layers)):
            n = joined[j]
            if n > len(x):
                x = torch.cat([x, h[len(x) : n]])  # the rows patched at layer j - 1 join
            x = body.layers[j](x, attention_mask=None if causal is None else causal[:n], position_ids=positions[:n],
                               position_embeddings=(cos[:n], sin[:n]), cache=cache, use_cache=True)
        x = torch.cat([x, h[len(x) :]])  # rows patched at the last layer have no block left to run
        h_last = x[torch.arange(len(rows)), self.last[rows].to(x.device)]
        return torch_module(self.model).lm_head(body.norm(h_last))

    @torch.no_grad()
    def states_at(self, layer):
        """The output of `layer` at every suffix token, before any patch (every layer's, computed on first
        use in one run of the model's own forward)."""
        check_layer(self.model, layer)
        if not self.suffix_states:
            self._run_suffixes()
        if layer not in self.checked:
            self._check_layer_by_layer(layer)
            self.checked.add(layer)
        return self.suffix_states[layer]

    def _run_suffixes(self):
        hf = torch_module(self.model)
        blocks = hf.model.layers
        states = [[] for _ in blocks]
        hooks = [block.register_forward_hook(lambda module, args, out, i=i: states[i].append(out))
                 for i, block in enumerate(blocks)]
        try:
            for i in range(0, len(self), self.batch_size):
                rows = torch.arange(i, min(i + self.batch_size, len(self)))
                mask, positions = self._inputs(rows)
                inputs = dict(input_ids=self.suffix_ids[rows].to(hf.device), attention_mask=mask,
                              position_ids=positions, cache=self._kv_cache(rows))
                if i == 0:  # the model's whole forward, logits included: the reference for _check_layer_by_layer
                    logits = hf(**inputs).logits
                    few = rows[:8]  # the check runs once per layer used; a model it does not reproduce differs anywhere
                    self.reference = few, logits[torch.arange(len(few)), self.last[few].to(hf.device)]
                else:  # the decoder layers' outputs are all we keep
                    hf.model(**inputs)
        finally:
            for hook in hooks:
                hook.remove()
        self.suffix_states = {layer: torch.cat(s) for layer, s in enumerate(states)}

    def _check_layer_by_layer(self, layer):
        rows, want = self.reference
        got = self._run_above(torch.full((len(rows),), layer), rows, self.suffix_states[layer][rows])
        diff = (got - want).abs().max().item()
        if diff > 1e-3 * want.abs().max().item():
            raise NotImplementedError(
                f"PrefixCache runs the layers of a Llama-style model one by one, and does not reproduce "
                f"{type(torch_module(self.model)).__name__}'s own forward pass (logits differ by {diff:.3g}). "
                f"Patch with dascourse.patch instead (slower, same result).")


def _common_length(sequences):
    """How many tokens every sequence starts with in common."""
    n = 0
    while all(len(s) > n for s in sequences) and len({s[n] for s in sequences}) == 1:
        n += 1
    return n


def _left_padded_mask(sequences):
    width = max(map(len, sequences))
    return torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences])


class PrefixCaches:
    """The PrefixCache of each set of cities' prompts (one prompt template), the last `size` of them kept.

    The model is frozen, so the prompts of a set of cities, run up to each city's last token (and, per
    layer, up to that layer), never change: chapter 6 scores many swaps and trains many rotations on the
    same cities and would otherwise run the same prompts again. `prefix_caches(model)` gives the model's
    own; `clear()` (or dc.clear_prefix_caches(model)) frees them.
    """

    def __init__(self, size=8):
        self.size, self._caches = size, OrderedDict()

    def get(self, model, cities, template):
        """The PrefixCache of template.replace("{city}", c) for c in `cities` (a tuple), row i for cities[i]."""
        key = (tuple(cities), template)
        if key in self._caches:
            self._caches.move_to_end(key)
        else:
            prompts = [template.replace(PLACEHOLDER, c) for c in cities]
            self._caches[key] = PrefixCache(model, prompts, list(cities))
            if len(self._caches) > self.size:
                self._caches.popitem(last=False)  # the least recently used
        return self._caches[key]

    def clear(self):
        self._caches.clear()

    def __len__(self):
        return len(self._caches)


# Where a model keeps its PrefixCaches: an attribute of its torch module, so that the caches live and die
# with the model the caller holds, and stay out of what nnsight serializes for a remote request (it sends
# the torch module by reference, but every attribute of the nnsight wrapper by value).
_ATTRIBUTE = "dascourse_prefix_caches"


def prefix_caches(model):
    """The PrefixCaches of `model` (created on first use), which dc.patch_pairs, source_states and train_das
    reuse from call to call."""
    module = torch_module(model)
    if _ATTRIBUTE not in module.__dict__:
        module.__dict__[_ATTRIBUTE] = PrefixCaches()
    return module.__dict__[_ATTRIBUTE]


def clear_prefix_caches(model):
    """Free the PrefixCaches that `model` keeps (the KV cache and every layer's states of the prompts that
    patch_pairs, source_states and train_das ran); the next call computes them again."""
    prefix_caches(model).clear()
