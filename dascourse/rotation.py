"""Deprecated, removed in dascourse 0.4: chapters 3 and 5-8 of dascourse 0.2 imported RotatedSubspace from here. Every name is now in
`import dascourse as dc` (dc.<name>); using one from here warns with its new name."""
from ._deprecated import deprecated_names

__getattr__ = deprecated_names(__name__, {
    "RotatedSubspace": "RotatedSubspace",
    "check_k": "check_k",
    "check_states": "check_states",
})
