"""Checks for chapter 1 (residual-stream patching). check_logit_diff_share needs no model (small
hand-made logits with a known answer); check_patch_residual runs the learner's trace on the model."""
import torch

from . import CheckFailed, check, expect, passed
from ._calls import as_tensor, call


def _logits(rows):
    return torch.tensor(rows, dtype=torch.float32)


SHARE_SHAPES = ("patched, base and source are [B, vocab] logits; base_ids and source_ids are [B] token ids. "
                "Pick one logit per row with logits[torch.arange(B), ids].")


@check
def check_logit_diff_share(logit_diff_share):
    """logit_diff_share(patched, base, source, base_ids, source_ids) -> [B] share of the logit difference moved."""
    base_ids, source_ids = torch.tensor([0, 1, 2]), torch.tensor([1, 2, 0])
    base = _logits([[3, 1, 0, 0], [0, 4, 0, 0], [0, 0, 2, 0]])    # LD = logit[source] - logit[base]: -2, -4, -2
    source = _logits([[1, 3, 0, 0], [0, 0, 4, 0], [2, 0, 0, 0]])  # LD: 2, 4, 2
    patched = _logits([[2, 2, 0, 0], [0, 0, 4, 0], [0, 0, 2, 0]])  # LD: 0 (half way), 4 (= source), -2 (= base)
    expected = torch.tensor([0.5, 1.0, 0.0])

    got = as_tensor(call(logit_diff_share, (patched, base, source, base_ids, source_ids), SHARE_SHAPES),
                    "logit_diff_share", "a [B] tensor of shares")
    expect(got.shape == (3,), f"Expected one share per row, shape (3,); got shape {tuple(got.shape)}. "
           + ("Index each row's own ids (logits[torch.arange(B), ids]), not logits[:, ids]." if got.ndim == 2 else ""))
    expect(not torch.allclose(got, 1 - expected, atol=1e-5),
           f"Got {got.tolist()}, which is 1 - the share: measure how far the patch moved LD *from the base* "
           "(LD_patched - LD_base), not how far it still is from the source.")
    expect(torch.allclose(got, expected, atol=1e-5),
           f"Expected shares {expected.tolist()} (half way, all the way, not at all); got {got.tolist()}. "
           "Share = (LD_patched - LD_base) / (LD_source - LD_base) with LD = logit[source id] - logit[base id].")

    shifted = as_tensor(call(logit_diff_share, (patched + 7.0, base - 3.0, source, base_ids, source_ids)),
                        "logit_diff_share", "a [B] tensor of shares")
    expect(torch.allclose(shifted, expected, atol=1e-5),
           "Adding a constant to every logit of a row must not change the share (only logit *differences* "
           f"matter, as in a softmax); got {shifted.tolist()}.")

    over = _logits([[0, 4, 0, 0]])
    beyond = as_tensor(call(logit_diff_share, (over, base[:1], source[:1], base_ids[:1], source_ids[:1])),
                       "logit_diff_share", "a [B] tensor of shares")
    on_probs = (lambda p, b, s: (p - b) / (s - b))(*[(x.softmax(-1)[0, 1] - x.softmax(-1)[0, 0]).item()
                                                    for x in (over, base[:1], source[:1])])
    expect(not torch.allclose(beyond, torch.tensor([on_probs]), atol=1e-4),
           f"Got {beyond.tolist()}: that is the share of the *probability* difference. Use the logits (or "
           "log-probabilities): probabilities saturate, logit differences do not.")
    expect(beyond.shape == (1,), f"A batch of one pair must give one share, shape (1,); got {tuple(beyond.shape)} "
           "(no .squeeze() or .item(): keep the batch dimension).")
    expect(torch.allclose(beyond, torch.tensor([1.5]), atol=1e-5),
           f"A patch can overshoot the source (LD = 4 > 2): expected share 1.5, not clipped; got {beyond.tolist()}.")
    passed("logit_diff_share")


@check
def check_patch_outcome(patch_outcome):
    """patch_outcome(logits, base_ids, source_ids) -> list of "source" / "base" / "other", one per row."""
    logits = _logits([[0, 5, 1, 0], [5, 1, 0, 0], [0, 1, 0, 5], [1, 2, 9, 0]])
    base_ids, source_ids = torch.tensor([0, 0, 0, 1]), torch.tensor([1, 1, 2, 2])
    expected = ["source", "base", "other", "source"]

    got = list(call(patch_outcome, (logits, base_ids, source_ids)))
    expect(len(got) == 4, f"Expected one outcome per row (4); got {len(got)}.")
    expect(all(isinstance(o, str) for o in got), f"Each outcome should be a string; got {got}.")
    expect(got == expected,
           f"Expected {expected}: the top token is the source's answer, the base's, or something else; got {got}.")
    passed("patch_outcome")


# --- check_patch_residual: the learner's patch inside an nnsight trace ---------------------------------

PATCH_HINT = ("Inside `with model.trace(prompts):` read out = model.model.layers[layer].output ([B, T, d]), "
              "write h_new into new = out.clone() at [torch.arange(B), positions], assign "
              "model.model.layers[layer].output = new, and .save() model.lm_head.output[:, -1, :].")


def _wrote_into_layer_output(model, layer, run):
    """True if `run()` wrote the patch into the very tensor decoder layer `layer` returned (no .clone()).

    The layer's last operation is the residual add `resid + mlp_out`. With embeddings that track gradients,
    the tensor the next layer receives was, after any number of indexed writes (CopySlices), made by that
    add (written in place) or by something else, a clone (written into a copy)."""
    inner = model._module.model
    seen = {}

    def remember(key):  # a hook that returns None leaves the module's input or output as it is
        return lambda module, inputs, output=None: seen.update({key: (inputs[0] if output is None else output).grad_fn})

    hooks = [inner.embed_tokens.register_forward_hook(lambda module, inputs, out: out.detach().requires_grad_(True)),
             inner.layers[layer].mlp.register_forward_hook(remember("mlp")),
             inner.layers[layer + 1].register_forward_pre_hook(remember("next"))]
    try:
        with torch.enable_grad():
            run()
    finally:
        for hook in hooks:
            hook.remove()
    node = seen.get("next")
    while node is not None and type(node).__name__ in ("CopySlices", "IndexPutBackward0"):
        node = node.next_functions[0][0]
    return node is not None and any(fn is seen.get("mlp") for fn, _ in node.next_functions)


def _written_positions(model, prompts, layer, run):
    """For each prompt, the positions (counted from the end of the padded batch) where run() changed the
    output of decoder layer `layer`, as the next layer receives it; None where it changed none at all."""
    from ..facts import next_token_logits

    seen = []
    hook = model._module.model.layers[layer + 1].register_forward_pre_hook(
        lambda module, inputs: seen.append(inputs[0].detach().float().cpu()))
    try:
        next_token_logits(model, prompts)  # the clean run
        run()
    finally:
        hook.remove()
    clean, patched = seen[0], seen[-1]
    changed = ((patched - clean).abs() > 1e-4 * (1 + clean.abs())).any(-1)  # [B, T]
    T = changed.shape[1]
    return [[c - T for c in row.nonzero().flatten().tolist()] for row in changed]


def _name_where_written(model, prompts, layer, positions, written):
    """CheckFailed naming the mistake, when the patch landed somewhere other than (layer, positions[i])."""
    want = [[p] for p in positions.tolist()]
    if written == want:
        return
    if not any(written):
        raise CheckFailed(f"Your patch left the output of layer {layer} unchanged in every row: it was written at "
                          f"another layer (the check calls it with layer={layer}; is a layer number written into "
                          "your function instead of the argument `layer`?), or never assigned back to the model.")
    for i, (got, p) in enumerate(zip(written, positions.tolist())):
        if got == [p]:
            continue
        if len(got) > 1 and got[-1] == -1 and got == list(range(got[0], 0)):
            raise CheckFailed(f"Row {i}'s h changed at every position from {got[0]} to the end: that is a patch "
                              f"at a layer before {layer} (the later tokens then change too). Patch the output of "
                              f"decoder layer `layer` itself, model.model.layers[layer].output.")
        if sorted(got) == sorted(positions.tolist()):
            raise CheckFailed(f"Row {i} was patched at positions {got}, every row at every position: indexing "
                              "new[:, positions, :] writes each h_new row at each position of each prompt. Index "
                              "rows and positions together, new[rows, positions, :] with rows = "
                              "torch.arange(len(prompts)), so that row i gets h_new[i] at positions[i] only.")
        if not got:
            raise CheckFailed(f"Row {i} was not patched at all (positions[{i}] = {p}). Patch every row of the "
                              "batch: rows = torch.arange(len(prompts)), new[rows, positions, :] = h_new.")
        raise CheckFailed(f"Row {i} was patched at position {got[0] if len(got) == 1 else got} (counted from the "
                          f"end of the padded batch), not at positions[{i}] = {p}. Use each row's own position from "
                          "the argument `positions` (not a number from the cells above), as a negative index: "
                          "prompts are padded on the left, so only positions counted from the end line up.")


@check
def check_patch_residual(patch_residual, model):
    """patch_residual(model, prompts, layer, positions, h_new) -> last-token logits [B, vocab] when h of
    prompt i at (layer, positions[i]) is replaced by h_new[i]. Compared with dascourse.sweep.patch_from_end."""
    from ..prompts import make_prompt
    from ..sweep import hidden_from_end, patch_from_end

    name, layer = "patch_residual", 5
    prompts = [make_prompt("Paris"), make_prompt("Rio de Janeiro")]  # different lengths: a padded batch
    positions = torch.tensor([-6, -1])  # the city's last token, the prompt's last token
    sources = [make_prompt("Rio de Janeiro"), make_prompt("Mumbai")]  # Mumbai's h differs from Rio's at -6 and -1
    h = hidden_from_end(model, sources, [layer], positions)  # [2 prompts, 1 layer, 2 positions, d]
    h_new = torch.stack([h[0, 0, 0], h[1, 0, 1]])  # row i: source i's h at positions[i]

    got = as_tensor(call(patch_residual, (model, prompts, layer, positions, h_new),
                         "If it is a NameError or UnboundLocalError: only what you .save() inside the trace "
                         "exists after it; save the logits.\n" + PATCH_HINT),
                    name, "the logits [B, vocab] at each prompt's last token (saved inside the trace)")
    vocab = model.config.vocab_size
    expect(got.ndim != 3, f"Got shape {tuple(got.shape)}: return only the last token's logits, "
           "model.lm_head.output[:, -1, :], one row per prompt.")
    expect(got.shape != (1, vocab) and got.shape != (vocab,),
           f"Got shape {tuple(got.shape)} for 2 prompts: the patch handles only a batch of one. Index every row "
           "(rows = torch.arange(len(prompts))) with its own position positions[i] and its own h_new[i].")
    expect(got.shape == (2, vocab), f"Expected logits of shape (2, {vocab}) for 2 prompts; got {tuple(got.shape)}.")

    def reference(at):
        return patch_from_end(model, prompts, at, positions, h_new).float().cpu()

    want = reference(layer)
    close = lambda a, b: torch.allclose(a, b, atol=1e-3)
    if not close(got, want):
        from ..facts import next_token_logits
        clean = next_token_logits(model, prompts).float().cpu()
        rows_ok = [close(got[i], want[i]) for i in range(2)]
        expect(not (rows_ok[0] and close(got[1], clean[1])),
               "Only the first prompt was patched: the patch handles a batch of one. Index every row "
               "(rows = torch.arange(len(prompts))) with its own positions[i] and h_new[i].")
        expect(not close(got, clean),
               "The logits are the unpatched model's: the patch never reached the model. Write h_new into a "
               "clone of the layer's output, then assign the clone back: model.model.layers[layer].output = new.")
        for off in (-1, 1):
            expect(not close(got, reference(layer + off)),
                   f"These are the logits of a patch at layer {layer + off}, not {layer}: layer off by one. "
                   f"h at `layer` is model.model.layers[layer].output, the output of decoder layer `layer` "
                   "(counting from 0); patch that, not its input or the next layer's.")
        _name_where_written(model, prompts, layer, positions,
                            _written_positions(model, prompts, layer, lambda: patch_residual(model, prompts, layer,
                                                                                             positions, h_new)))
        raise CheckFailed(f"Wrong logits for a patch at layer {layer}, positions {positions.tolist()} (largest "
                          f"difference {(got - want).abs().max():.3g}). {PATCH_HINT}")

    expect(not _wrote_into_layer_output(model, layer, lambda: patch_residual(model, prompts, layer, positions, h_new)),
           "Right logits, but the patch was written into the tensor the layer returned, not into a .clone(). Here "
           "that happens to work; once the new value is computed from h_base (chapters 3-5 train such patches) "
           "autograd fails with 'modified by an inplace operation'. Use new = out.clone(), write into new, and "
           "assign model.model.layers[layer].output = new.")
    passed(name)
