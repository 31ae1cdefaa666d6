"""Deprecated, removed in dascourse 0.4: chapter 8 of dascourse 0.2 imported save_rotation from here. Every name is now in
`import dascourse as dc` (dc.<name>); using one from here warns with its new name."""
from ._deprecated import deprecated_names

__getattr__ = deprecated_names(__name__, {
    "RotationFileError": "RotationFileError",
    "check_fits": "check_fits",
    "load_rotation": "load_intervention",
    "save_rotation": "save_intervention",
})
