"""Old names kept for one more release. Each warns (DeprecationWarning) with the name that replaces it
and the release that removes it, then gives the new object: `import dascourse as dc` is the interface.
"""
import importlib
import warnings

REMOVED_IN = "0.4"


def deprecated_names(module: str, names: dict) -> object:
    """A module-level __getattr__ for `module` (its dotted name) serving each old name of `names`
    ({old: new}, `new` an attribute of dascourse, or (text, getter) for what is not a plain name) with a
    DeprecationWarning that says to use dc.<new> and that the old name goes in dascourse REMOVED_IN."""

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new = names[name]
        text, get = (new, lambda dc: getattr(dc, new)) if isinstance(new, str) else new
        warnings.warn(f"{module}.{name} is deprecated and will be removed in dascourse {REMOVED_IN}: "
                      f"use dc.{text} (import dascourse as dc).", DeprecationWarning, stacklevel=2)
        return get(importlib.import_module("dascourse"))

    return __getattr__
