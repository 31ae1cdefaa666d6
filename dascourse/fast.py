"""Deprecated, removed in dascourse 0.4: chapter 2 of dascourse 0.2 imported PrefixCache from here. Every name is now in
`import dascourse as dc` (dc.<name>); using one from here warns with its new name."""
from ._deprecated import deprecated_names

__getattr__ = deprecated_names(__name__, {
    "PrefixCache": "PrefixCache",
})
