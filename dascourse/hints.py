"""One line of help for the slip learners make most: running a chapter's cells out of order.

A cell that uses `pairs` before the cell defining it has run fails with "NameError: name 'pairs' is not
defined". In IPython (Jupyter, Colab), `enable_hints()` adds to such an error the cell to run first;
dc.load_model() calls it, so every chapter has the hints from its setup cell on. Importing dascourse
alone installs nothing.
"""
import sys
from types import MappingProxyType

SETUP = "the setup cell near the top (model = dc.load_model(MODEL))"
SPLIT = "the cell that splits the cities (train_cities, test_cities, unseen_cities = dc.split_by_city(facts, ...))"
# The names the chapters define once and use in many later cells, and the cell that defines each.
DEFINED_IN = MappingProxyType({
    "model": SETUP,
    "MODEL": SETUP,
    "d": "a cell near the top (d = model.config.hidden_size)",
    "layer": "a cell near the top of the chapter (layer = ...)",
    "k": "the cell that sets the subspace size (k = ...)",
    "facts": "the cell that asks which facts the model knows (facts = dc.known_facts(model, ...))",
    "pairs": "the cell that builds the counterfactual pairs (pairs = ...make_pairs(model, facts, ...))",
    "states": "the cell that computes the source states (states = dc.source_states(model, ...))",
    "train_cities": SPLIT,
    "test_cities": SPLIT,
    "unseen_cities": SPLIT,
    "train_pairs": "the cell that makes pairs from the split (train_pairs = dc.make_pairs(model, train_cities))",
    "test_pairs": "the cell that makes pairs from the split (test_pairs = dc.make_pairs(model, test_cities, ...))",
    "unseen_pairs": "the cell that makes pairs from the split (unseen_pairs = dc.make_pairs(model, ...))",
    "rotation": "the cell that builds or trains it (rotation = dc.RotatedSubspace(d, k), or dc.train_das(...))",
    "losses": "the training cell (rotation, losses = dc.train_das(...))",
})


def name_error_hint(name):
    """The line to add to "NameError: name '<name>' is not defined", or None for a name no chapter defines."""
    if name not in DEFINED_IN:
        return None
    return f"Hint: `{name}` is defined in {DEFINED_IN[name]}; run that cell first (or Run All Above)."


def _show_with_hint(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for NameError: the usual traceback, with the hint as a note at its end."""
    hint = name_error_hint(getattr(value, "name", None))
    if hint and hint not in getattr(value, "__notes__", []):
        value.add_note(hint)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def enable_hints():
    """In an IPython session, show the hint under NameErrors (IPython's handler for them); elsewhere do nothing."""
    if sys.version_info < (3, 11):  # exceptions have no add_note before 3.11
        return
    ipython = sys.modules.get("IPython")  # not imported: not in IPython, and no need to import it
    shell = ipython.get_ipython() if ipython else None
    if shell is not None:
        shell.set_custom_exc((NameError,), _show_with_hint)
