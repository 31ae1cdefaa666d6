"""Every learner notebook runs top to bottom as a learner first opens it, with every stub unfilled: each
check says its exercise was skipped, and the cells after it fall back to dascourse's functions
(`yours_or_library`). tests/test_learner.py runs the same notebooks with the solutions filled in.

As slow as executing the chapters themselves (the training chapters take minutes each): a stub changes
which function runs, not how much runs.
"""
from pathlib import Path

import pytest

from tools import learner
from tools.learner import STUB_SKIPPED

CHAPTERS = learner.chapters(Path(__file__).resolve().parents[1] / "notebooks")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_learner_notebook_runs_with_every_stub_unfilled(chapter):
    not_skipped = learner.run_with_stubs(chapter)
    assert not not_skipped, (f"checks that did not report their stub as skipped ({STUB_SKIPPED!r}), with what "
                             f"they printed: {not_skipped}")
