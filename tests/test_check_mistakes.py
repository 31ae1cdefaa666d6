"""The exercises' checks meet the usual wrong answers, and each answers with a message naming the mistake
(never a raw traceback from inside torch); a stub still raising NotImplementedError is reported as skipped.

Each wrong answer below is one a learner plausibly writes; `match` is the part of the check's message that
names it. The instructor guide (book/instructor_guide.md) lists them with what the checks say.
"""
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dascourse as dc
import dascourse.checks
from dascourse.checks import CheckFailed
from dascourse.checks.causal_abstraction import check_interchange, check_train_das
from dascourse.checks.evaluation import check_isolate, check_pca_directions
from dascourse.checks.multitask import check_boundary_mask, check_mdas_loss
from dascourse.checks.training import check_iia, check_split_by_city
from dascourse.interventions import RotatedSubspace
from tools.learner import STUB_SKIPPED


def expect_message(check_function, wrong, match):
    with pytest.raises(CheckFailed, match=match) as failure:
        check_function(wrong)
    assert failure.value.__cause__ is None  # the learner sees the check's message, not torch's traceback


# ---- chapter 4: the interchange intervention and the DAS training loop on the toy MLP ----------------------

def interchange_right(mlp, x_base, x_source, layer, basis):
    h_base, h_source = mlp.hidden(x_base, layer), mlp.hidden(x_source, layer)
    return mlp.from_hidden(h_base + (h_source - h_base) @ basis.T @ basis, layer)


INTERCHANGE_MISTAKES = {
    "writes into its input": (
        lambda mlp, xb, xs, layer, B: (xb.__setitem__((slice(None), slice(0, 4)), xs[:, :4]),
                                       interchange_right(mlp, xb, xs, layer, B))[1],
        "changed `xb`, an input it was given"),  # the name the learner gave it
    "basis used as [d, k]": (
        lambda mlp, xb, xs, layer, B: mlp.from_hidden(
            mlp.hidden(xb, layer) + (mlp.hidden(xs, layer) - mlp.hidden(xb, layer)) @ B @ B.T, layer),
        r"raised RuntimeError.*basis as \[d, k\]"),
    "layer off by one": (
        lambda mlp, xb, xs, layer, B: interchange_right(mlp, xb, xs, layer + 1, B), r"layer off by one"),
    "probabilities, not logits": (
        lambda mlp, xb, xs, layer, B: interchange_right(mlp, xb, xs, layer, B).softmax(-1), "probabilities"),
    "squeezes a batch of one": (
        lambda mlp, xb, xs, layer, B: interchange_right(mlp, xb, xs, layer, B).squeeze(), "batch of one"),
    "nothing swapped": (lambda mlp, xb, xs, layer, B: mlp(xb), "base's own logits"),
    "whole network on the source": (lambda mlp, xb, xs, layer, B: mlp(xs), "source's logits"),
}


@pytest.mark.parametrize("name", INTERCHANGE_MISTAKES)
def test_check_interchange_names_the_mistake(name):
    expect_message(check_interchange, *INTERCHANGE_MISTAKES[name])


def train_das_right(mlp, h_base, h_source, labels, layer, k, steps, seed=0):
    if seed is not None:
        torch.manual_seed(seed)
    rotation = RotatedSubspace(h_base.shape[1], k).to(h_base.dtype)
    opt = torch.optim.Adam(rotation.parameters(), lr=1e-2)
    for _ in range(steps):
        rows = torch.randint(len(h_base), (128,))
        loss = F.cross_entropy(mlp.from_hidden(rotation(h_base[rows], h_source[rows]), layer), labels[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return rotation


def train_das_centres_in_place(mlp, h_base, h_source, labels, layer, k, steps):
    h_base -= h_base.mean(0)  # "normalise first", into the caller's tensor
    return train_das_right(mlp, h_base, h_source, labels, layer, k, steps)


TRAIN_DAS_MISTAKES = {
    "returns R_k transposed": (lambda *args: train_das_right(*args).R_k.T, r"R_k transposed"),
    "writes into h_base": (train_das_centres_in_place, "changed `h_base`"),
    "no seed": (lambda *args: train_das_right(*args, seed=None), "trained different rotations: seed torch"),
    "batch rows of the wrong tensor": (
        lambda mlp, h_base, h_source, labels, layer, k, steps: RotatedSubspace(h_base.shape[1], k).to(h_base.dtype)(
            h_base[:128], h_source), r"raised ValueError.*a batch is h_base\[rows\]"),
}


@pytest.mark.parametrize("name", TRAIN_DAS_MISTAKES)
def test_check_train_das_names_the_mistake(name):
    expect_message(check_train_das, *TRAIN_DAS_MISTAKES[name])


# ---- chapter 5: IIA and the split by city ---------------------------------------------------------------------

IIA_MISTAKES = {
    "the number of hits": (lambda logits, targets: (logits.argmax(-1) == targets).sum(), "number of hits"),
    "argmax over the pairs": (lambda logits, targets: (logits.argmax(0) == targets).float().mean(),
                              r"argmax over the pairs \(dim 0\)"),
    "mean of a bool tensor": (lambda logits, targets: (logits.argmax(-1) == targets).mean(),
                              r"raised RuntimeError.*\.float\(\)\.mean\(\)"),
    "one hit per pair": (lambda logits, targets: (logits.argmax(-1) == targets).float(), "return one number"),
    "argmin": (lambda logits, targets: (logits.argmin(-1) == targets).float().mean(), "expected IIA"),
}


@pytest.mark.parametrize("name", IIA_MISTAKES)
def test_check_iia_names_the_mistake(name):
    expect_message(check_iia, *IIA_MISTAKES[name])


def split_right(table, test_frac, seed, random_state=None):
    shuffled = table.sample(frac=1, random_state=seed if random_state is None else random_state)
    n_test = round(test_frac * len(table))
    held, train = shuffled.iloc[:n_test], shuffled.iloc[n_test:]
    return train, held[held["country"].isin(set(train["country"]))]


def split_marks_the_table(table, test_frac, seed):
    table["test"] = False  # a column added to the caller's table
    return split_right(table, test_frac, seed)


SPLIT_MISTAKES = {
    "ignores test_frac": (lambda table, test_frac, seed: split_right(table, 0.2, seed), "expected about test_frac"),
    "ignores the seed": (lambda table, test_frac, seed: split_right(table, test_frac, seed, random_state=0),
                         "the seed is ignored"),
    "global random state": (lambda table, test_frac, seed: split_right(table, test_frac, seed,
                                                                       random_state=np.random.randint(1 << 30)),
                            "two calls with seed=0 gave different splits"),
    "writes into the table": (split_marks_the_table, "changed `table`"),
    "splits rows, not cities": (lambda table, f, seed: (table, table.sample(frac=f, random_state=seed)),
                                "cities in both train and test"),
    "keeps unlearnable countries": (lambda table, f, seed: (lambda s: (s.iloc[round(f * len(s)):],
                                                                       s.iloc[:round(f * len(s))]))(
        table.sample(frac=1, random_state=seed)), "no training city of that country"),
    "returns three tables": (lambda table, f, seed: dc.split_by_city(table, f, seed), "return two tables"),
}


@pytest.mark.parametrize("name", SPLIT_MISTAKES)
def test_check_split_by_city_names_the_mistake(name):
    expect_message(check_split_by_city, *SPLIT_MISTAKES[name])


def test_checks_pass_right_solutions(capsys):
    check_interchange(interchange_right)
    check_train_das(train_das_right)
    check_split_by_city(split_right)
    assert capsys.readouterr().out.count("all checks passed") == 3


# ---- chapter 6: Isolate and the PCA baseline ------------------------------------------------------------------

def differing(patched, base, source):
    return [(p, b, s) for p, b, s in zip(patched, base, source) if b != s]


ISOLATE_MISTAKES = {
    "counts every pair": (lambda patched, base, source: sum(p == b for p, b in zip(patched, base)) / len(base),
                          "counted every pair"),
    "computes Cause": (lambda patched, base, source: sum(p == s for p, _, s in differing(patched, base, source))
                       / len(differing(patched, base, source)), "SOURCE's"),
    "a count": (lambda patched, base, source: sum(p == b for p, b, _ in differing(patched, base, source)),
                "number of kept answers"),
    "divides by all pairs": (lambda patched, base, source: sum(p == b for p, b, _ in differing(patched, base, source))
                             / len(base), "divided by all the pairs"),
    "pops its input": (lambda patched, base, source: (patched.pop(), 0.75)[1], "changed `patched`"),
}


@pytest.mark.parametrize("name", ISOLATE_MISTAKES)
def test_check_isolate_names_the_mistake(name):
    expect_message(check_isolate, *ISOLATE_MISTAKES[name])


def svd_of_difference(h_base, h_source):
    return torch.linalg.svd(h_source - h_base, full_matrices=False)


def pca_in_place(h_base, h_source, k):
    h_source -= h_base
    return torch.linalg.svd(h_source, full_matrices=False).Vh[:k]


PCA_MISTAKES = {
    "centres": (lambda h_base, h_source, k: torch.linalg.svd((h_source - h_base) - (h_source - h_base).mean(0),
                                                             full_matrices=False).Vh[:k], "you centred"),
    "[d, k]": (lambda h_base, h_source, k: svd_of_difference(h_base, h_source).Vh[:k].T, r"R_k transposed"),
    "left singular vectors": (lambda h_base, h_source, k: svd_of_difference(h_base, h_source).U[:, :k],
                              "left singular vectors"),
    "eigh's first k": (lambda h_base, h_source, k: torch.linalg.eigh((h_source - h_base).T @ (h_source - h_base))
                       .eigenvectors[:, :k].T, "LEAST length"),
    "scaled rows": (lambda h_base, h_source, k: (svd_of_difference(h_base, h_source).S[:, None]
                                                 * svd_of_difference(h_base, h_source).Vh)[:k], "not orthonormal"),
    "h_source alone": (lambda h_base, h_source, k: torch.linalg.svd(h_source, full_matrices=False).Vh[:k],
                       "wrong subspace"),
    "writes into h_source": (pca_in_place, "changed `h_source`"),
}


@pytest.mark.parametrize("name", PCA_MISTAKES)
def test_check_pca_directions_names_the_mistake(name):
    expect_message(check_pca_directions, *PCA_MISTAKES[name])


# ---- chapter 7: the MDAS loss and Boundless DAS's mask ---------------------------------------------------------

def isolate_terms(isolate):
    return torch.stack([F.cross_entropy(logits, base) for logits, base in isolate.values()])


MDAS_MISTAKES = {
    "sum of isolate terms": (lambda c, s, iso: F.cross_entropy(c, s) + (isolate_terms(iso).sum() if iso else 0),
                             "summed the isolate terms"),
    "pooled rows": (lambda c, s, iso: F.cross_entropy(c, s) + (F.cross_entropy(
        torch.cat([l for l, _ in iso.values()]), torch.cat([b for _, b in iso.values()])) if iso else 0), "pooled"),
    "subtracted": (lambda c, s, iso: F.cross_entropy(c, s) - (isolate_terms(iso).mean() if iso else 0), "subtracted"),
    "empty dict": (lambda c, s, iso: F.cross_entropy(c, s) + isolate_terms(iso).mean(),
                   r"raised RuntimeError.*isolate = \{\}"),
    "a float": (lambda c, s, iso: F.cross_entropy(c, s).item(), "0-dim tensor"),
    "detached": (lambda c, s, iso: F.cross_entropy(c, s).detach(), "does not depend on the logits"),
    "no isolate term": (lambda c, s, iso: F.cross_entropy(c, s), "isolate terms are missing"),
    "everything averaged": (lambda c, s, iso: torch.stack([F.cross_entropy(c, s), *(
        F.cross_entropy(l, b) for l, b in iso.values())]).mean(), "averaged the cause term"),
}


@pytest.mark.parametrize("name", MDAS_MISTAKES)
def test_check_mdas_loss_names_the_mistake(name):
    expect_message(check_mdas_loss, *MDAS_MISTAKES[name])


MASK_MISTAKES = {
    "flipped sign": (lambda b, d, t: torch.sigmoid((torch.arange(d) - b) / t), "flipped the sign"),
    "times the temperature": (lambda b, d, t: torch.sigmoid((b - torch.arange(d)) * t), "multiplied"),
    "i from 1": (lambda b, d, t: torch.sigmoid((b - torch.arange(1, d + 1)) / t), "counted i from 1"),
    "hard step": (lambda b, d, t: (torch.arange(d) < b).float(), "hard 0/1 step"),
    "float(b)": (lambda b, d, t: torch.sigmoid((float(b) - torch.arange(d)) / t), "differentiable in b"),
    "a row, not a vector": (lambda b, d, t: torch.sigmoid((b - torch.arange(d)) / t)[None], r"shape \("),
}


@pytest.mark.parametrize("name", MASK_MISTAKES)
def test_check_boundary_mask_names_the_mistake(name):
    expect_message(check_boundary_mask, *MASK_MISTAKES[name])


# ---- every check: a stub is an exercise skipped, not a failure -------------------------------------------------

def all_checks():
    for info in pkgutil.iter_modules(dascourse.checks.__path__):
        module = importlib.import_module(f"dascourse.checks.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("check_") and fn.__module__ == module.__name__:
                yield pytest.param(fn, id=name)


@pytest.fixture
def report():
    """The committed capstone report (`make capstone`): what check_conclusion(conclusion, report) takes."""
    return json.loads((Path(dascourse.__file__).parent / "data" / "capstone" / "report.json").read_text("utf-8"))


@pytest.mark.parametrize("check_function", list(all_checks()))
def test_a_stub_is_reported_as_skipped(check_function, capsys, request):
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise: write it first.")

    # checks of trace exercises also take the model (check_patch_residual(fn, model))
    extra = [name for name, p in inspect.signature(check_function).parameters.items()
             if p.default is inspect.Parameter.empty][1:]
    check_function(stub, *[request.getfixturevalue(name) for name in extra])
    assert STUB_SKIPPED in capsys.readouterr().out  # what tests/test_learner_stubs.py looks for
