"""Checks for the chapters' exercises: each `check_*` runs the learner's function on cases with known
answers, prints a pass line, or raises `CheckFailed` saying what is wrong and what was expected.

A learner notebook runs top to bottom with its stubs unfilled: a check wrapped in `@check` says the
exercise was skipped when the function still raises NotImplementedError, and the demonstration cells
call `yours_or_library(yours, library)`, which uses the library's version until the stub is written.
"""
import functools

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


def call(fn, *args, case, hint=""):
    """fn(*args), where an error raised inside the learner's function (a shape mismatch deep in torch, say)
    becomes a CheckFailed that names the case and the usual cause, instead of a traceback through torch.
    A stub's NotImplementedError passes through, for `@check` to report the exercise as skipped."""
    try:
        return fn(*args)
    except (NotImplementedError, CheckFailed):
        raise
    except Exception as err:  # the learner's code failed: say where, and the likely fix
        first_line = (str(err).strip().splitlines() or [""])[0].rstrip(".")
        raise CheckFailed(f"{case}: your {getattr(fn, '__name__', 'function')}() raised {type(err).__name__}: "
                          f"{first_line}. {hint}".rstrip()) from None


def copies(**given):
    """Copies of the inputs handed to the learner's function, taken before the call, for `unchanged`."""
    return {name: value.clone() if hasattr(value, "clone") else value.copy() for name, value in given.items()}


def unchanged(before, case, **given):
    """Fail if the learner's function wrote into an input it was given (`before`: `copies` of them)."""
    for name, value in given.items():
        old = before[name]
        same = old.equals(value) if hasattr(old, "equals") else torch.equal(old, value) if torch.is_tensor(old) \
            else old == value
        expect(same, f"{case}: your function changed `{name}`, an input it was given (an in-place operation such "
                     f"as `{name}[...] = ...`, `{name} -= ...`, `.add_()` or inplace=True). Build new objects "
                     f"instead (`{name} - other`, `torch.cat`, or `.clone()` / `.copy()` first).")
