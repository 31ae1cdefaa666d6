"""The older form call(fn, args, hint) of checks.call, kept for checks/residual.py and checks/neurons.py
until they call checks.call(fn, *args, hint=...) themselves: one implementation, in checks/__init__.py."""
from . import as_tensor  # noqa: F401 (imported from here by the same two files)
from . import call as _call


def call(fn, args, hint=""):
    """checks.call(fn, *args, hint=hint): fn(*args), a crash or an input written in place a CheckFailed."""
    return _call(fn, *args, hint=hint)
