"""Checks for the chapters' exercises: each `check_*` runs the learner's function on cases with known
answers, prints a pass line, or raises `CheckFailed` saying what is wrong and what was expected."""


class CheckFailed(AssertionError):
    """The learner's function gave a wrong answer; the message says which case and why."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def passed(name):
    print(f"✓ {name}: all checks passed.")
