"""Run a learner's function for a check: a crash becomes a CheckFailed that names the likely mistake, and
an input written in place is caught before anything else is looked at (a later comparison would then
measure against a changed input and blame the wrong thing)."""
import torch

from . import CheckFailed


def call(fn, args, hint=""):
    """fn(*args), with every tensor in `args` checked unchanged afterwards.

    A stub's NotImplementedError passes through (the @check decorator reports the exercise as skipped);
    any other error is reported as CheckFailed with its first line and `hint`, not as a raw traceback.
    """
    name = getattr(fn, "__name__", "your function")
    before = [a.detach().clone() if torch.is_tensor(a) else None for a in args]
    try:
        result = fn(*args)
    except (NotImplementedError, CheckFailed):
        raise
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise CheckFailed(f"{name}() raised {type(error).__name__}: {first_line[:300]}\n{hint}".rstrip()) from None
    for position, (arg, copy) in enumerate(zip(args, before)):
        if copy is not None and not torch.equal(arg.detach(), copy):
            raise CheckFailed(
                f"{name}() changed its input (argument {position + 1}, shape {tuple(copy.shape)}) in place, e.g. "
                f"with `h[...] = ...` or `+=`. Build a new tensor instead (h_base + ..., torch.where, or a "
                f".clone() first): the caller still needs the original, and autograd may need it too.")
    return result


def as_tensor(result, name, what):
    """`result` as a float tensor, or CheckFailed saying that `name` should return `what`."""
    if not torch.is_tensor(result):
        raise CheckFailed(f"{name}() returned {type(result).__name__}, not a tensor: it should return {what}.")
    return result.detach().float().cpu()
