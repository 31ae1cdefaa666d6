"""Checks for the causal-abstraction chapter's exercises (hierarchical equality, dascourse.toy). No language model."""
import torch

from .. import toy
from . import call, check, copies, expect, passed, unchanged


def _setting():
    """The chapter's pools of shapes ({split: shapes}) and trained MLP (the same seeds, so the same network as
    the chapter's; trained anew on each call, about 2 s, so that no state outlives a check)."""
    shapes = {split: toy.make_shapes(split) for split in toy.SPLIT_SEEDS}
    return shapes, toy.train_mlp(shapes["train"])


def _cases(mlp, shapes):
    """Named (x_base, x_source, basis) cases on 8 pairs of unseen (test) shapes."""
    d = mlp.layers[toy.LAYER].out_features
    shapes = shapes["test"]
    pairs = toy.make_pairs(8, seed=11, n_shapes=len(shapes))
    x_base, x_source = toy.embed(pairs["base"], shapes), toy.embed(pairs["source"], shapes)
    yield "a random 2-dim subspace", x_base, x_source, toy.random_bases(d, 1, 1, seed=3)[0]
    yield "two neurons", x_base, x_source, toy.neuron_bases(d, 1, 1, seed=4)[0]
    yield "the whole layer (identity)", x_base, x_source, torch.eye(d, dtype=toy.DTYPE)


SHAPE_HINT = ("Usual causes: using basis as [d, k] (it is [k, d], rows are the directions: project with "
              "(h_source - h_base) @ basis.T @ basis), or the layer off by one (hidden layer `layer` has d units, "
              "matching basis's second axis).")


@check
def check_interchange(interchange):
    """interchange(mlp, x_base, x_source, layer, basis) = the MLP's logits on x_base with hidden layer
    `layer`'s subspace (orthonormal rows of basis, [k, d]) taken from x_source:
    h' = h_base + B^T B (h_source - h_base), then the layers above `layer`."""
    shapes, mlp = _setting()
    layer = toy.LAYER
    for name, x_base, x_source, basis in _cases(mlp, shapes):
        before = copies(x_base=x_base, x_source=x_source, basis=basis)
        with torch.no_grad():
            got = call(interchange, mlp, x_base, x_source, layer, basis, case=name, hint=SHAPE_HINT)
        unchanged(before, name, x_base=x_base, x_source=x_source, basis=basis)
        expect(isinstance(got, torch.Tensor) and tuple(got.shape) == (len(x_base), 2),
               f"{name}: expected logits of shape {(len(x_base), 2)} (one row of 2 logits per pair), got "
               f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}.")
        want = toy.interchange(mlp, x_base, x_source, layer, basis)
        expect(not torch.allclose(got, want.softmax(-1), atol=1e-9),
               f"{name}: you returned probabilities (a softmax); return the logits of mlp.from_hidden(h', layer).")
        expect(not torch.allclose(got, mlp(x_base), atol=1e-9) or torch.allclose(want, mlp(x_base), atol=1e-9),
               f"{name}: you returned the base's own logits: the swap changed nothing. Read h_source at layer "
               f"{layer}, add B^T B (h_source - h_base) to h_base, and run the layers above.")
        expect(not torch.allclose(got, mlp(x_source), atol=1e-9) or torch.allclose(want, mlp(x_source), atol=1e-9),
               f"{name}: you returned the source's logits, as if the whole layer came from the source. Only "
               f"the part of h_source - h_base inside the subspace moves: B^T B (h_source - h_base).")
        expect(torch.allclose(got, want, atol=1e-9),
               f"{name}: wrong logits. Usual mistakes: projecting with B B^T instead of B^T B (rows are vectors: "
               f"(h_source - h_base) @ B.T @ B), patching the input or the wrong layer (mlp.hidden(x, layer) "
               f"is the output of hidden layer `layer`, after its ReLU), or running the whole MLP again on h' "
               f"instead of only the layers above (mlp.from_hidden(h, layer)).")
    _, x_base, x_source, basis = next(_cases(mlp, shapes))
    with torch.no_grad():
        one = call(interchange, mlp, x_base[:1], x_source[:1], layer, basis, case="a batch of one pair",
                   hint="Keep the batch axis: avoid .squeeze() and indexing with [0].")
    expect(isinstance(one, torch.Tensor) and tuple(one.shape) == (1, 2)
           and torch.allclose(one, toy.interchange(mlp, x_base[:1], x_source[:1], layer, basis), atol=1e-9),
           "A batch of one pair must give logits of shape (1, 2): avoid .squeeze(), which drops the batch axis.")
    passed("interchange")


@check
def check_train_das(train_das, steps=300):
    """train_das(mlp, h_base, h_source, labels, layer, k, steps) -> a [k, d] tensor with orthonormal rows
    (or a RotatedSubspace) whose swap makes the MLP give the counterfactual labels. Checked on V1 with the
    chapter's layer and k: IIA on held-out pairs of unseen shapes must reach 0.9 within `steps` steps, and two calls give the same R_k."""
    shapes, mlp = _setting()
    layer, k = toy.LAYER, toy.K
    train = toy.make_pairs(4000, seed=21, n_shapes=len(shapes["train"]))
    with torch.no_grad():
        h_base, h_source = (mlp.hidden(toy.embed(train[side], shapes["train"]), layer) for side in ("base", "source"))
    labels = toy.counterfactual_labels(train["base"], train["source"], "V1")
    d = h_base.shape[1]
    case = f"V1 at layer {layer}, k={k}"
    before = copies(h_base=h_base, h_source=h_source, labels=labels)
    with toy.one_thread():  # a tiny float64 network: one thread is faster, and a busy machine does not stall it
        got = call(train_das, mlp, h_base, h_source, labels, layer, k, steps, case=case,
                   hint=f"h_base and h_source are [N, d] = {tuple(h_base.shape)}, labels [N]; a batch is h_base[rows].")
    unchanged(before, case, h_base=h_base, h_source=h_source, labels=labels)
    basis = _trained_basis(got, k, d)
    expect(torch.allclose(basis @ basis.T, torch.eye(k, dtype=toy.DTYPE), atol=1e-4),
           "The rows of R_k are not orthonormal: train a RotatedSubspace(d, k) (its orthogonal parametrization keeps "
           "them so), not a plain nn.Parameter.")
    held_out = toy.score(mlp, shapes["test"], toy.make_pairs(2000, toy.TEST_SEED, len(shapes["test"])), layer, basis, "V1")
    expect(held_out["all"] >= 0.9,
           f"Held-out IIA for V1 is {held_out['all']:.3f} (label-changing pairs {held_out['changed']:.3f}); it should "
           f"reach 0.9 within {steps} steps. Usual mistakes: the loss uses the base's own labels instead of the "
           f"counterfactual ones; the optimizer was given the MLP's parameters instead of the rotation's; "
           f"opt.zero_grad() is missing (gradients pile up); the learning rate is far from 1e-2; the swap is not "
           f"applied before running mlp.from_hidden(h', layer).")
    with toy.one_thread():
        again = _trained_basis(call(train_das, mlp, h_base, h_source, labels, layer, k, steps, case=case), k, d)
    expect(torch.allclose(again, basis, atol=1e-9),
           "Two calls with the same inputs trained different rotations: seed torch first (torch.manual_seed(0) "
           "before creating the RotatedSubspace) and draw the batches from a seeded generator, so that a run can "
           "be repeated.")
    passed("train_das")


def _trained_basis(got, k, d):
    """R_k [k, d] of what train_das returned (a RotatedSubspace or the tensor itself), or a CheckFailed."""
    basis = got.R_k if hasattr(got, "R_k") else got
    shape = tuple(basis.shape) if isinstance(basis, torch.Tensor) else None
    expect(shape != (d, k), f"You returned a [d, k] = {(d, k)} tensor: R_k transposed. Return the rotation, or R_k "
                            f"as [k, d] = {(k, d)}, one direction per row.")
    expect(shape == (k, d), f"Return the trained R_k, a [k, d] = [{k}, {d}] tensor (or the RotatedSubspace itself); "
                            f"got {shape if shape else type(got).__name__}.")
    return basis.detach().to(toy.DTYPE)
