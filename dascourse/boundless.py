"""Kept only because published notebooks (chapter 7) import BoundlessSubspace from here: the class now
lives in dascourse.interventions, with every other intervention."""
from .interventions import BoundlessSubspace

__all__ = ["BoundlessSubspace"]
