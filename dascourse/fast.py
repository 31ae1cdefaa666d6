"""Fast patching for training: compute once what does not change from step to step.

A DAS step patches one position p (the city's last token) at one layer. Attention is causal, so no
token before p ever sees the patch: the keys and values of tokens 0..p-1, at every layer, are the same in
every step. `PrefixCache` runs those tokens once and keeps their KV cache; each step then runs only the
tokens from p on (" Paris is in the country of" -> 6 tokens instead of ~25), attending to the cached
prefix. The arithmetic on the suffix is the same as in the full run, so logits and gradients match
`dascourse.patch` (see the test and `python -m dascourse.bench`).
"""
import torch
from transformers import DynamicCache

from .patching import check_layer, fit_patch
from .prompts import city_positions


class PrefixCache:
    """The KV cache of every prompt's tokens before its city's last token, plus the tokens after.

    cache = PrefixCache(model, prompts, cities)
    cache.patch(rows, layer, intervention)  ==  dc.patch(model, prompts[rows], cities[rows], layer, intervention)
    """

    def __init__(self, model, prompts, cities, batch_size=32):
        self.model = model
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
        self.keys, self.values = self._run_prefixes(prefixes, batch_size)

    def __len__(self):
        return len(self.suffix_ids)

    @torch.no_grad()
    def _run_prefixes(self, prefixes, batch_size):
        hf, pad, P = self.model._module, self.model.tokenizer.pad_token_id, self.prefix_mask.shape[1]
        ids = torch.tensor([[pad] * (P - len(x)) + x for x in prefixes])
        keys, values = [], []
        for i in range(0, len(ids), batch_size):
            mask = self.prefix_mask[i : i + batch_size]
            out = hf(
                input_ids=ids[i : i + batch_size].to(hf.device),
                attention_mask=mask.to(hf.device),
                position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(hf.device),
                use_cache=True,
            )
            keys.append([layer.keys for layer in out.cache.layers])
            values.append([layer.values for layer in out.cache.layers])
        # One tensor per layer: [prompts, kv_heads, P, head_dim].
        return [torch.cat(k) for k in zip(*keys)], [torch.cat(v) for v in zip(*values)]

    def patch(self, rows, layer, intervention):
        """Logits after prompts[rows] when h at (layer, city's last token) becomes intervention(h_base)."""
        check_layer(self.model, layer)
        rows = torch.as_tensor(rows)
        device = self.model._module.device
        cache = DynamicCache(
            ddp_cache_data=[(k[rows], v[rows]) for k, v in zip(self.keys, self.values)],
            config=self.model.config,
        )
        prefix_mask, suffix_mask = self.prefix_mask[rows], self.suffix_mask[rows]
        positions = self.prefix_len[rows, None] + torch.arange(suffix_mask.shape[1])
        last = suffix_mask.sum(-1) - 1
        inputs = dict(
            input_ids=self.suffix_ids[rows],
            attention_mask=torch.cat([prefix_mask, suffix_mask], dim=1),
            position_ids=positions,
        )
        with self.model.trace(**{k: v.to(device) for k, v in inputs.items()}, cache=cache):
            out = self.model.model.layers[layer].output
            new = out.clone()
            h_base = out[:, 0, :]  # column 0 of the suffix is the city's last token
            new[:, 0, :] = fit_patch(intervention(h_base), h_base)
            self.model.model.layers[layer].output = new
            logits = self.model.lm_head.output[torch.arange(len(rows)), last.to(device), :].save()
        return logits


def _left_padded_mask(sequences):
    width = max(map(len, sequences))
    return torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences])
