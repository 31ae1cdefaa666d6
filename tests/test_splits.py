"""The tools repeat the chapters' runs on the chapters' own cities: dc.course_split (what the tools call) gives
the cities that chapter 5's own cells make (run here from the notebook), seed 0, and the held-out pairs the
grid scores (tools/course_grid.py) are chapter 5's test pairs."""
import json
from pathlib import Path

import dascourse as dc
from tools.course_grid import HELD_OUT_PAIRS, KEEP

CHAPTER_5 = Path(__file__).parents[1] / "notebooks" / "05_training_das.ipynb"


def chapter_5_cell(marker):
    """The source of chapter 5's one code cell that contains `marker`."""
    cells = ["".join(c["source"]) for c in json.loads(CHAPTER_5.read_text())["cells"] if c["cell_type"] == "code"]
    found = [c for c in cells if marker in c]
    assert len(found) == 1, f"chapter 5 has {len(found)} code cells with {marker!r}"
    return found[0]


def chapter_5_line(marker):
    """Chapter 5's one code line that starts with `marker` (an assignment inside a longer cell)."""
    found = [line for line in chapter_5_cell(marker).splitlines() if line.startswith(marker)]
    assert len(found) == 1, f"chapter 5 has {len(found)} lines starting with {marker!r}"
    return found[0]


def test_tool_seed_0_has_chapter_5s_split_and_pairs(model, capsys):
    # Chapter 5's `facts = ...` line and its split cell, run as the chapter runs them with the library's split
    # (the exercise's solution is checked against it by check_held_out_split).
    space = {"dc": dc, "model": model, "split_by_city": dc.split_by_city,
             "yours_or_library": lambda yours, library: library}
    exec(chapter_5_line("facts = "), space)
    exec(chapter_5_cell("train_eval = "), space)
    capsys.readouterr()
    train, test, unseen = dc.course_split(model, KEEP)  # as tools/course_grid.py splits
    for ours, chapter in ((train, "train_cities"), (test, "test_cities"), (unseen, "unseen_cities")):
        assert ours.equals(space[chapter]), chapter
    assert dc.make_pairs(model, test, n=HELD_OUT_PAIRS, seed=0).equals(space["test_pairs"])  # the grid's held-out pairs


def test_course_split_blanks_unknown_attributes(model):
    facts = dc.course_facts(model, keep=("continent",))
    known = set(dc.known_facts(model, ["country", "continent"]).city)
    assert facts.continent.isna().tolist() == [c not in known for c in facts.city]
    assert list(facts.city) == list(dc.known_facts(model, "country").city)
