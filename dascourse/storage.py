"""Rotation files: save a trained intervention with what it was trained for, and load it back only where it fits.

A file holds any Intervention (interventions.py): its type tag (the class name), its `config()` (the
constructor's arguments), its state_dict (its R_k, bit for bit) and metadata: the model, layer, k, hidden
size, attribute, prompt templates and the dascourse version. Loading finds the class by its tag among the
subclasses of Intervention that exist now -- those of dascourse, and any defined in your own code before
loading -- so a new intervention needs no registration anywhere. A file without a tag (dascourse 0.1.0)
holds a RotatedSubspace. R_k is only meaningful at the layer and in the residual stream of the model it
was trained on, so `load_intervention` refuses another model, hidden size or layer with an error naming both.
Files are written atomically (`files.atomic_open`): a save killed half-way leaves the previous file as it was.
"""
import hashlib
import os
import pickle
import zipfile

import torch

from .files import atomic_open
from .interventions import Intervention, RotatedSubspace
from .model import torch_module

FORMAT = "dascourse-rotation"


class RotationFileError(ValueError):
    """A rotation file that cannot be read, or that does not fit the model or layer asked for."""


def save_intervention(path, rotation: Intervention, **metadata) -> None:
    """Write `rotation` (any Intervention: a RotatedSubspace, a BoundlessSubspace, one of your own) and
    `metadata` (plain values: str, int, float, list, dict) to `path`. Its type, config, hidden_size, k and
    the dascourse version are recorded from the intervention itself."""
    from . import __version__

    if not isinstance(rotation, Intervention):
        raise ValueError(f"save_intervention saves an Intervention (dascourse.interventions), not a "
                         f"{type(rotation).__name__}.")
    sizes = {key: value for key, value in (("hidden_size", rotation.d), ("k", rotation.k)) if value is not None}
    for key, value in sizes.items():
        if metadata.get(key, value) != value:
            raise ValueError(f"metadata {key}={metadata[key]!r} contradicts the rotation's {key}={value}.")
    metadata = {**metadata, **sizes, "dascourse_version": __version__}
    state = {k: v.detach().cpu() for k, v in rotation.state_dict().items()}
    saved = {"format": FORMAT, "type": type(rotation).__name__, "module": type(rotation).__module__,
             "config": rotation.config(), "state": state, "sha256": _digest(state), "metadata": metadata}
    with atomic_open(path, "wb") as f:
        torch.save(saved, f)


def load_intervention(path, model=None, layer: "int | None" = None) -> "tuple[Intervention, dict]":
    """(rotation, metadata) from a file written by save_intervention: the intervention of the class it was saved
    as (a file of dascourse 0.1.0: a RotatedSubspace), with the same tensors.

    model: when given, the file must have been trained on a model of the same name and hidden size;
           the rotation is then moved to the model's device.
    layer: when given, the file must have been trained at that layer.
    Raises RotationFileError for a missing, corrupt or truncated file, or one that does not fit.
    """
    if not os.path.isfile(path):
        raise RotationFileError(f"No rotation file at {path}.")
    # torch.save writes a zip archive: checking for one first turns the many ways torch.load fails on
    # other bytes into one message. weights_only: a rotation file holds tensors and plain values only.
    if not zipfile.is_zipfile(path):
        raise _unreadable(path, "not a complete zip archive")
    try:
        saved = torch.load(path, weights_only=True)
    except (RuntimeError, EOFError, KeyError, IndexError, ValueError, pickle.UnpicklingError) as err:
        raise _unreadable(path, _first_line(err)) from None
    if not (isinstance(saved, dict) and saved.get("format") == FORMAT):
        raise RotationFileError(f"{path} is not a dascourse rotation file (written by save_intervention).")
    if _digest(saved["state"]) != saved["sha256"]:
        raise RotationFileError(f"{path} is corrupt: its R_k does not match the checksum saved with it.")
    metadata = saved["metadata"]
    model_name, hidden_size = (model.name, model.config.hidden_size) if model is not None else (None, None)
    check_fits(path, metadata, model_name, hidden_size, layer)
    rotation = _rebuild(path, saved)
    rotation.load_state_dict(saved["state"])
    if model is not None:
        rotation.to(torch_module(model).device)  # patches where the model runs (a GPU on Colab)
    return rotation, metadata


def check_fits(path, metadata: dict, model_name: "str | None" = None, hidden_size: "int | None" = None,
               layer: "int | None" = None) -> None:
    """Raise RotationFileError naming both values when the rotation of `path` (its `metadata`) was
    trained for another model name, hidden size or layer than the ones given (None: not checked)."""
    for what, key, asked in (("model", "model", model_name), ("hidden size", "hidden_size", hidden_size),
                             ("layer", "layer", layer)):
        trained = metadata.get(key)
        if key == "hidden_size" and trained is None:
            continue  # an intervention without a size (e.g. FullPatch) fits any hidden size
        if asked is not None and trained != asked:
            raise RotationFileError(f"{path} was trained for {what} {trained!r}, not {asked!r}: train a rotation "
                                    f"for {what} {asked!r}, or use the {what} it was trained for.")


def intervention_class(tag):
    """The subclass of Intervention named `tag`, among those defined now (a walk over __subclasses__, so
    that a class defined anywhere, a test file or a notebook included, is found without a registry);
    None when there is none. A class defined again under the same name in the same module (a notebook
    cell run twice) gives its latest definition: __subclasses__ lists a class's subclasses in the order
    they were defined."""
    found, todo = [], [Intervention]
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        if cls.__name__ == tag:
            found.append(cls)
    if len({(c.__module__, c.__qualname__) for c in found}) > 1:
        names = sorted(f"{c.__module__}.{c.__qualname__}" for c in found)
        raise RotationFileError(f"Several intervention classes are named {tag!r} ({', '.join(names)}): "
                                f"rename one of them, then save again.")
    return found[-1] if found else None


def _rebuild(path, saved):
    """The intervention a file holds, before its state is loaded: its class (by its type tag) and config."""
    if "type" not in saved:  # dascourse 0.1.0 saved a RotatedSubspace and no tag
        return RotatedSubspace(saved["metadata"]["hidden_size"], saved["metadata"]["k"])
    cls = intervention_class(saved["type"])
    if cls is None:
        raise RotationFileError(f"{path} holds a {saved['type']} (defined in {saved.get('module')!r}), which is not "
                                f"defined here: import or define that class first, then load again.")
    try:
        return cls(**saved["config"])
    except (TypeError, ValueError) as err:
        raise RotationFileError(f"{path} holds a {saved['type']} that cannot be rebuilt from its config "
                                f"{saved['config']!r} ({_first_line(err)}): has the class changed since it was saved?") from None


def _unreadable(path, why):
    return RotationFileError(f"{path} is not a readable rotation file, it is corrupt or truncated ({why}): "
                             f"save it again with save_intervention or `python -m dascourse train`.")


def _digest(state):
    """SHA-256 of the tensors' bytes: torch.load does not notice bytes flipped inside a tensor."""
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].numpy().tobytes())
    return digest.hexdigest()


def _first_line(err):
    # torch's zip errors go on for several sentences; the first says what went wrong.
    return (str(err).strip().split(". ")[0].splitlines() or [type(err).__name__])[0]
