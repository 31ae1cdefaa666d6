"""The --help of select, evaluate and report carries the note on reading Isolate (chapter 6's continent question)."""
import argparse

import pytest

from dascourse.cli import ISOLATE_NOTE, parser


@pytest.mark.parametrize("command", ["select", "evaluate", "report"])
def test_help_says_when_a_low_isolate_is_not_entanglement(command):
    (commands,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    text = " ".join(commands.choices[command].format_help().split())
    assert " ".join(ISOLATE_NOTE.split()) in text
    assert "city -> country -> continent" in text and "full patching" in text
