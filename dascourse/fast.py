"""Kept only because published notebooks (chapter 2) import PrefixCache from here: it now lives in
dascourse.prefix_cache."""
from .prefix_cache import PrefixCache

__all__ = ["PrefixCache"]
