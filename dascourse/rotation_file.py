"""Kept only because published notebooks (chapter 8) import save_rotation from here: rotation files are
written and read by dascourse.storage."""
from .storage import RotationFileError, check_fits, load_rotation, save_rotation

__all__ = ["RotationFileError", "check_fits", "load_rotation", "save_rotation"]
