"""Kept only because published notebooks (chapters 3 and 5-8) import RotatedSubspace from here: the class
now lives in dascourse.interventions, with every other intervention."""
from .interventions import RotatedSubspace, check_k, check_states

__all__ = ["RotatedSubspace", "check_k", "check_states"]
