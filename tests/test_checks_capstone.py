"""Chapter 9's checks (dascourse/checks/capstone.py) on a small made-up report: the right answers pass, the
usual mistakes fail with a message that names them. No model."""
import pytest

from dascourse.checks import CheckFailed
from dascourse.checks.capstone import check_compare, check_conclusion, compare, conclusion

REPORT = {"attribute": "language", "keep": ["continent"], "method": "MDAS", "layer": 12, "k": 16, "d": 576,
          "plan": {"mode": "quick", "held-out entities": 18, "seeds": [0]},
          "held_out_text": {"cause": "0.70 [0.60, 0.80]", "continent": "0.81 [0.70, 0.90]"},
          "minus_controls": {"random subspace": {"cause": [0.4, 0.3, 0.5], "continent": [-0.1, -0.2, 0.0]},
                             "full patching": {"cause": [-0.05, -0.1, 0.02], "continent": [0.5, 0.4, 0.6]}}}


def test_the_library_versions_pass_their_checks(capsys):
    check_compare(compare)
    check_conclusion(conclusion, REPORT)
    assert capsys.readouterr().out.count("all checks passed") == 2


def test_compare_by_the_point_difference_fails_naming_the_interval():
    with pytest.raises(CheckFailed, match="the interval holds 0"):
        check_compare(lambda diff, lo, hi: "more" if diff > 0 else "less" if diff < 0 else "cannot tell")


def test_a_stub_is_reported_skipped(capsys):
    def compare(diff, lo, hi):
        raise NotImplementedError

    check_compare(compare)
    assert "exercise skipped" in capsys.readouterr().out


@pytest.mark.parametrize("text, problem", [
    ("The language moves on 0.75 of held-out pairs.", r"\['0.75'\]"),  # a number the report does not hold
    ("The language moves on 0.70 [0.60, 0.80], more than full patching.", "cannot be told from"),
    ("The language subspace keeps the continent on 0.81, less than random subspace.", "cannot be told from"),
    ("The subspace moves the answer on 0.70 of pairs.", "Name the attribute"),
])
def test_a_conclusion_the_report_does_not_support_fails(text, problem):
    with pytest.raises(CheckFailed, match=problem):
        check_conclusion(lambda report: text, REPORT)


def test_a_supported_conclusion_with_rounded_and_signed_numbers_passes(capsys):
    text = ("The language moves on 0.70 [0.60, 0.80] of held-out pairs, more than the random subspace "
            "(+0.40 [+0.30, +0.50]); it cannot be told from full patching on Cause (-0.05 [-0.10, +0.02]). "
            "It keeps the continent on 0.81, more than full patching.")
    check_conclusion(lambda report: text, REPORT)
    assert "all checks passed" in capsys.readouterr().out
