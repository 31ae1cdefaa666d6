"""Checks for the chapters' exercises: each `check_*` runs the learner's function on cases with known
answers, prints a pass line, or raises `CheckFailed` saying what is wrong and what was expected.

A learner notebook runs top to bottom with its stubs unfilled: a check wrapped in `@check` says the
exercise was skipped when the function still raises NotImplementedError, and the demonstration cells
call `yours_or_library(yours, library)`, which uses the library's version until the stub is written.

Writing a check for a new chapter (checks/<chapter>.py) takes these helpers, and no others:

    @check                                  on every check_*(fn, ...): a stub reports "exercise skipped"
    got = call(fn, *args, case=..., hint=...)
                                            run the learner's function: a crash becomes a CheckFailed naming
                                            the case and `hint` (the usual cause), and an input written in
                                            place (tensor, array, table, list) is caught before anything else
    got = as_tensor(got, name, what)        the result as a float CPU tensor, or CheckFailed "should return what"
    expect(condition, message)              a CheckFailed with `message` (say the case, the mistake, the fix)
    passed(name)                            the pass line, once every case passed
    yours_or_library(yours, library)        for the demonstration cells after the exercise

(copies / unchanged are an older, explicit form of call's in-place check, kept for
checks/causal_abstraction.py; checks/_calls.py is the older call(fn, args, hint) form.)
"""
import copy
import functools
import inspect

import numpy as np
import pandas as pd
import torch


class CheckFailed(AssertionError):
    """The learner's function gave a wrong answer; the message says which case and why."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def passed(name):
    print(f"✓ {name}: all checks passed.")


def check(check_function):
    """Decorator for a check_*(fn, ...): a stub (fn raises NotImplementedError) is reported as skipped,
    not as a failure, so that a learner notebook runs on with the exercise left for later."""
    @functools.wraps(check_function)
    def run(fn, *args, **kwargs):
        try:
            return check_function(fn, *args, **kwargs)
        except NotImplementedError:
            print(f"○ {getattr(fn, '__name__', 'this function')}() is still a stub: exercise skipped. "
                  f"The cells below use dascourse's version; write yours and rerun this cell to check it.")
    return run


def yours_or_library(yours, library):
    """`yours` (the learner's function) where written, else `library` (dascourse's), with a one-line note.

    A stub raises NotImplementedError before doing anything, so the first call tells which one runs; the
    choice is then kept, so the note appears once per cell."""
    choice = []

    @functools.wraps(library)
    def call(*args, **kwargs):
        if not choice:
            try:
                result = yours(*args, **kwargs)
            except NotImplementedError:
                print(f"(using dascourse's {library.__name__}: your {yours.__name__}() is still a stub)")
                choice.append(library)
            else:
                choice.append(yours)
                return result
        return choice[0](*args, **kwargs)
    return call


def call(fn, *args, case=None, hint=""):
    """fn(*args) for a check. An error raised inside the learner's function (a shape mismatch deep in
    torch, say) becomes a CheckFailed that names the case (when given) and `hint`, the usual cause, instead
    of a traceback through torch; a stub's NotImplementedError passes through, for `@check` to report the
    exercise as skipped. Every input (tensor, array, table, list) is compared with a copy taken before the
    call: one written in place fails first, since any later comparison would measure against a changed input."""
    name = getattr(fn, "__name__", "function")
    where = f"{case}: " if case else ""
    before = [_snapshot(a) for a in args]
    try:
        result = fn(*args)
    except (NotImplementedError, CheckFailed):
        raise
    except Exception as err:  # the learner's code failed: say where, and the likely fix
        first_line = (str(err).strip().splitlines() or [""])[0].rstrip(".")[:300]
        raise CheckFailed(f"{where}your {name}() raised {type(err).__name__}: {first_line}. {hint}".rstrip()) from None
    names = _argument_names(fn, len(args))
    for position, (arg, old) in enumerate(zip(args, before)):
        if old is not _NOT_CHECKED and not _same(old, arg):
            raise CheckFailed(_in_place_message(where, names[position], position))
    return result


def as_tensor(result, name, what):
    """`result` as a float tensor on the CPU, or CheckFailed saying that `name` should return `what`."""
    if not torch.is_tensor(result):
        raise CheckFailed(f"{name}() returned {type(result).__name__}, not a tensor: it should return {what}.")
    return result.detach().float().cpu()


_NOT_CHECKED = object()


def _snapshot(value):
    """A copy of an input to compare after the call (_NOT_CHECKED for a model, a module, a function, ...)."""
    if torch.is_tensor(value):
        return value.detach().clone()
    if isinstance(value, (np.ndarray, pd.DataFrame, pd.Series, list, dict, tuple)):
        try:
            return copy.deepcopy(value)
        except Exception:
            return _NOT_CHECKED
    return _NOT_CHECKED


def _same(old, new):
    if torch.is_tensor(old):
        return torch.equal(old, new.detach())
    if hasattr(old, "equals"):
        return old.equals(new)
    if isinstance(old, np.ndarray):
        return np.array_equal(old, new)
    try:
        return bool(old == new)
    except Exception:  # e.g. a dict of tensors: no single truth value; not checked
        return True


def _argument_names(fn, n):
    """The names the learner gave fn's first n parameters (for messages), else "argument i"."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"argument {i + 1}" for i in range(n)]


def _in_place_message(where, name, position=None):
    which = "" if position is None else f" (argument {position + 1})"
    return (f"{where}your function changed `{name}`, an input it was given{which}, in place (an "
            f"in-place operation such as `{name}[...] = ...`, `{name} -= ...`, `.add_()` or inplace=True). Build new "
            f"objects instead (`{name} - other`, `torch.cat`, or `.clone()` / `.copy()` first): the caller still "
            f"needs the original, and autograd may need it too.")


def copies(**given):
    """Copies of the inputs handed to the learner's function, taken before the call, for `unchanged`."""
    return {name: value.clone() if hasattr(value, "clone") else value.copy() for name, value in given.items()}


def unchanged(before, case, **given):
    """Fail if the learner's function wrote into an input it was given (`before`: `copies` of them)."""
    for name, value in given.items():
        expect(_same(before[name], value), _in_place_message(f"{case}: ", name))
