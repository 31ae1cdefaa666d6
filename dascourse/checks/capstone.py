"""Checks for chapter 9's exercises (your own concept, read from `python -m dascourse report`'s report.json).
They need no model: they read the report's numbers."""
import json
import re

from . import call, check, expect, passed

DECIMAL = re.compile(r"(?<![\w.])[-+]?\d*\.\d+(?![\w]|\.\d)")  # signed: "+0.40", "-0.05"
WORDS = {"more": "more than", "less": "less than", "cannot tell": "cannot be told from"}
VERBS = {"more": "is more than", "less": "is less than", "cannot tell": "cannot be told from"}


def compare(diff, lo, hi):
    """The word a paired difference (diff, lo, hi) of method minus control allows: "more" when the whole
    95% interval is above 0 (lo > 0), "less" when it is below 0 (hi < 0), else "cannot tell"."""
    if lo > 0:
        return "more"
    if hi < 0:
        return "less"
    return "cannot tell"


def conclusion(report):
    """One conclusion the report supports, in words: what moved, against which control, what stayed, and the
    limits of the run. Every number in it is one of report.json's."""
    method, k, d, attribute = report["method"], report["k"], report["d"], report["attribute"]
    plan = report["plan"]
    lines = [f"At layer {report['layer']}, swapping a {k}-dimensional subspace of the residual stream (d = {d}; "
             f"{method}, chosen on validation entities) moves the {attribute} of held-out entities on "
             f"{report['held_out_text']['cause']} of pairs."]
    for control, by_score in report["minus_controls"].items():
        diff, lo, hi = by_score["cause"]
        lines.append(f"On Cause it {VERBS[compare(diff, lo, hi)]} {control} "
                     f"({diff:+.2f} [{lo:+.2f}, {hi:+.2f}], paired).")
    for kept in report["keep"]:
        if kept in report["held_out_text"]:
            lines.append(f"It keeps the {kept} on {report['held_out_text'][kept]} of held-out pairs whose {kept} differs.")
    lines.append(f"This rests on {plan['held-out entities']} held-out entities, {len(plan['seeds'])} seed(s), "
                 f"one prompt per attribute and one model ({plan['mode']} mode): it says where this model's answer "
                 f"can be moved from, not that the model itself uses this subspace, nor anything about other "
                 f"prompts, entities or models.")
    return " ".join(lines)


def report_numbers(report):
    """Every number report.json holds, as text: the numbers written in its strings and every numeric value."""
    text = json.dumps(report)
    return set(re.findall(r"-?\d+(?:\.\d+)?", text))


def in_report(number, found):
    """Whether `number` (as written, e.g. '0.71') is one of `found` or rounds from one of them."""
    number = number.lstrip("+-")
    places = len(number.split(".")[1]) if "." in number else 0
    for value in found:
        value = value.lstrip("-")
        if value == number or (value.count(".") and f"{float(value):.{places}f}" == number):
            return True
    return False


def claimed_words(sentence, report):
    """(control, score, word) for each comparison a sentence makes with a control of report["minus_controls"],
    written as the report writes them ("more than random subspace", "cannot be told from full patching"; also
    "better than", "worse than"): the score is a kept attribute the sentence names, else Cause."""
    phrases = {**{phrase: word for word, phrase in WORDS.items()}, "better than": "more", "worse than": "less"}
    found = []
    for control, by_score in report["minus_controls"].items():
        name = re.escape(control.split(" (")[0])
        for phrase, word in phrases.items():
            if re.search(rf"{phrase}\s+(?:the\s+|a\s+)?{name}(?![\w])", sentence):
                scores = [s for s in by_score if s != "cause" and s in sentence] or ["cause"]
                found += [(control, score, word) for score in scores]
    return found


@check
def check_compare(compare):
    """compare(diff, lo, hi) -> "more", "less" or "cannot tell", from the paired interval only."""
    cases = [((0.40, 0.30, 0.50), "more"), ((-0.20, -0.31, -0.08), "less"), ((0.12, -0.03, 0.25), "cannot tell"),
             ((0.05, 0.0, 0.10), "cannot tell"), ((-0.30, -0.55, 0.01), "cannot tell"), ((0.25, 0.25, 0.25), "more"),
             ((0.0, 0.0, 0.0), "cannot tell")]
    for (diff, lo, hi), want in cases:
        case = f"diff {diff:+.2f} [{lo:+.2f}, {hi:+.2f}]"
        got = call(compare, diff, lo, hi, case=case, hint="The three arguments are floats.")
        expect(got in WORDS, f"{case}: return one of {sorted(WORDS)}, got {got!r}.")
        if got != want and want == "cannot tell":
            expect(False, f"{case}: expected 'cannot tell', got {got!r}: the interval holds 0 (lo <= 0 <= hi), "
                          f"so these pairs cannot tell the two methods apart, whatever the point difference says.")
        expect(got == want, f"{case}: expected {want!r}, got {got!r}: an interval entirely above 0 means 'more', "
                             f"entirely below 0 'less'.")
    passed("compare")


@check
def check_conclusion(conclusion, report):
    """conclusion(report) -> text whose every decimal number is one of report.json's and whose comparisons
    with a control ("more than", "less than", "cannot be told from") agree with the paired interval."""
    text = call(conclusion, report, case="your report", hint="conclusion(report) takes the report dict.")
    expect(isinstance(text, str) and text.strip(), f"conclusion() should return your conclusion as text, got "
                                                    f"{type(text).__name__}.")
    expect(report["attribute"] in text, f"Name the attribute you studied ({report['attribute']!r}) in your conclusion.")
    found = report_numbers(report)
    missing = [n for n in DECIMAL.findall(text) if not in_report(n, found)]
    expect(not missing, f"Your conclusion quotes {missing}, which report.json does not hold: quote the report's "
                        f"numbers (e.g. report['held_out_text']['cause']), rounded as it rounds them.")
    for sentence in re.split(r"(?<=[.;])\s+", text):
        for control, score, word in claimed_words(sentence, report):
            diff, lo, hi = report["minus_controls"][control][score]
            right = compare(diff, lo, hi)
            expect(right == word, f"{sentence!r}: you wrote '{WORDS[word]}' {control} on {score}, but the paired "
                                  f"difference is {diff:+.2f} [{lo:+.2f}, {hi:+.2f}], which says '{WORDS[right]}'.")
    passed("conclusion")
