"""Issue #7: nothing half-written, no network, and learners' common slips (cells out of order, training
re-run, a model in bfloat16) get a hint or just work."""
import ast
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import torch

import dascourse as dc
from dascourse import hints
from dascourse import model as model_module
from dascourse.interventions import RotatedSubspace

PARIS, RIO = dc.make_prompt("Paris"), dc.make_prompt("Rio de Janeiro")
NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def top_token(model, logits):
    return model.tokenizer.decode(logits[0].argmax())


def test_model_cache_writer_killed_midway_leaves_the_previous_cache(model, tmp_path, monkeypatch, capsys):
    """A process rebuilding the model cache is killed (SIGKILL) while it writes the new weights: the
    previous cache stays whole and valid, the half-written folder is never taken for a cache, and the
    next load uses the previous cache as it was. The writer first dequantizes the GGUF (~30 s): the
    suite's one real build."""
    good = model_module.default_model_cache()
    monkeypatch.setenv("DASCOURSE_CACHE", str(tmp_path))
    folder = model_module.default_model_cache()
    shutil.copytree(good, folder)  # the previous state: a valid cache
    manifest = (folder / model_module.MANIFEST).read_text()

    writer = subprocess.Popen(
        [sys.executable, "-c", "from dascourse import model as m; m._build_default_cache(m.default_model_cache())"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # inherits DASCOURSE_CACHE=tmp_path
    )
    partial_weights = f"{folder.name}.partial-*/{model_module.WEIGHTS}"
    deadline = time.monotonic() + 600
    while not list(folder.parent.glob(partial_weights)):  # kill it once it writes the new weights
        assert writer.poll() is None, "the writer ended before it wrote any weights"
        assert time.monotonic() < deadline, "the writer wrote no weights in 10 minutes"
        time.sleep(0.01)
    writer.kill()
    writer.wait()

    (partial,) = folder.parent.glob(f"{folder.name}.partial-*")
    assert not model_module._cache_is_valid(partial)  # half-written: no manifest, never taken for a cache
    assert (folder / model_module.MANIFEST).read_text() == manifest
    assert model_module._cache_is_valid(folder)  # the previous weights, byte for byte (SHA-256)
    capsys.readouterr()
    again = dc.load_model()
    assert "Preparing" not in capsys.readouterr().out  # nothing rebuilt
    assert torch.equal(dc.next_token_logits(again, [PARIS]), dc.next_token_logits(model, [PARIS]))


def test_stale_partial_folders_are_removed(tmp_path):
    """What killed builds left (as above) is deleted by the next build; a live build's folder is not."""
    folder = tmp_path / dc.DEFAULT_MODEL
    old, live = tmp_path / f"{folder.name}.partial-old", tmp_path / f"{folder.name}.partial-live"
    for partial in (old, live):
        partial.mkdir()
        (partial / model_module.WEIGHTS).write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    model_module._remove_stale_partials(folder)
    assert not old.exists() and live.exists()


def test_no_network_while_loading_and_patching(monkeypatch):
    """Loading the default model and patching open no connection (and look up no host name)."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    offline = dc.load_model()
    h_source = dc.hidden_at_city(offline, [RIO], ["Rio de Janeiro"], 8)
    logits = dc.patch(offline, [PARIS], ["Paris"], 8, lambda h_base: h_source)
    assert top_token(offline, logits) == " Brazil"
    assert attempts == []


def test_training_again_starts_fresh_unless_asked(model):
    """Re-running a training cell trains a new rotation from the seed, not the last one further,
    unless the caller passes the rotation to go on from."""
    facts = dc.known_facts(model, "country").sample(6, random_state=0)
    pairs = dc.make_pairs(model, facts)
    first, losses = dc.train_das(model, pairs, 8, 4, steps=3, batch_size=4, seed=0, progress=False)
    torch.manual_seed(123)  # whatever the cells in between did to the global random state
    torch.rand(7)
    again, losses_again = dc.train_das(model, pairs, 8, 4, steps=3, batch_size=4, seed=0, progress=False)
    assert losses_again == losses
    assert torch.equal(again.R_k, first.R_k)
    start, _ = dc.train_das(model, pairs, 8, 4, steps=0, seed=0)
    other, _ = dc.train_das(model, pairs, 8, 4, steps=0, seed=1)
    assert not torch.equal(start.R_k, first.R_k)  # it did train
    assert not torch.equal(other.R_k, start.R_k)  # and the seed decides where it starts
    # Asked to (swap=...), it goes on from the given rotation instead.
    trained_on = first.R_k.detach().clone()
    more, _ = dc.train_das(model, pairs, 8, None, steps=2, batch_size=4, progress=False, swap=first)
    assert more is first and not torch.equal(more.R_k, trained_on)


def test_rotation_on_bfloat16_states():
    """A float32 rotation on bfloat16 states (a model on a GPU): h' comes back in bfloat16, close to
    the float32 result, and gradients still reach R_k."""
    torch.manual_seed(0)
    rotation = RotatedSubspace(576, 16)
    h_base, h_source = torch.randn(2, 3, 576), torch.randn(2, 3, 576)
    out = rotation(h_base.bfloat16(), h_source.bfloat16())
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.float(), rotation(h_base, h_source), atol=0.05)
    out.float().sum().backward()
    assert rotation.rotate.parametrizations.weight.original.grad is not None


def test_bfloat16_model_takes_float32_patches_and_trains(model):
    """Patches computed in float32 (h_source, a neuron mask, a rotation) go into a bfloat16 model, and
    dc.train_das runs on it."""
    bf16 = dc.load_model()
    bf16._module.to(torch.bfloat16)
    h_source = dc.hidden_at_city(model, [RIO], ["Rio de Janeiro"], 8)  # float32, from the float32 model
    full = dc.patch(bf16, [PARIS], ["Paris"], 8, lambda h_base: h_source)
    neurons = dc.patch(bf16, [PARIS], ["Paris"], 8, lambda h_base: dc.neuron_patch(h_base, h_source, torch.ones(576)))
    rotated = dc.patch(bf16, [PARIS], ["Paris"], 8, lambda h_base: RotatedSubspace(576, 576)(h_base, h_source))
    for logits in (full, neurons, rotated):
        assert logits.dtype == torch.bfloat16 and top_token(bf16, logits) == " Brazil"

    pairs = dc.make_pairs(model, dc.known_facts(model, "country").sample(6, random_state=0))
    rotation, losses = dc.train_das(bf16, pairs, 8, 4, steps=2, batch_size=4, progress=False)
    assert rotation.R_k.dtype == torch.float32 and all(map(torch.isfinite, torch.tensor(losses)))


def test_name_error_hint():
    assert hints.name_error_hint("model") == (
        "Hint: `model` is defined in the setup cell near the top (model = dc.load_model(MODEL)); "
        "run that cell first (or Run All Above)."
    )
    assert "dc.train_das" in hints.name_error_hint("rotation")
    assert hints.name_error_hint("modle") is None  # a typo is Python's to point out, not ours


def test_name_error_hint_is_added_once_to_the_traceback():
    shown = []

    class Shell:  # the one method of IPython's shell that the handler calls
        def showtraceback(self, exc_tuple, tb_offset=None):
            shown.append(exc_tuple[1])

    try:
        pairs  # noqa: F821, B018 -- the slip: a cell run before the one that defines `pairs`
    except NameError as err:
        error = err
    for _ in range(2):  # the same error shown twice gets the hint once
        hints._show_with_hint(Shell(), NameError, error, error.__traceback__)
    assert shown == [error, error]
    assert error.__notes__ == [hints.name_error_hint("pairs")]


def test_hinted_names_are_defined_by_the_chapters():
    """Each name the hints know is assigned at the top level of some chapter's cell."""
    assigned = set()
    for notebook in NOTEBOOKS:
        for cell in code_cells(notebook):
            for node in ast.parse(cell).body:
                targets = node.targets if isinstance(node, ast.Assign) else []
                assigned |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    assert set(hints.DEFINED_IN) <= assigned, set(hints.DEFINED_IN) - assigned


def code_cells(notebook):
    """The code cells of a notebook, without IPython magics (`%matplotlib inline`), which ast cannot read."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code":
            yield re.sub(r"(?m)^\s*[%!].*$", "", cell.source)
