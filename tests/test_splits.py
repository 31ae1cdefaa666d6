"""The tools repeat the chapters' runs on the chapters' own cities: dc.course_split (what the tools call)
gives the cities and pairs that chapter 5's own cell makes (run here from the notebook), seed 0."""
import json
from pathlib import Path

import dascourse as dc
from tools.seed_spread import chapter_5_sets

CHAPTER_5 = Path(__file__).parents[1] / "notebooks" / "05_training_das.ipynb"


def chapter_5_cell(marker):
    """The source of chapter 5's one code cell that contains `marker`."""
    cells = ["".join(c["source"]) for c in json.loads(CHAPTER_5.read_text())["cells"] if c["cell_type"] == "code"]
    found = [c for c in cells if marker in c]
    assert len(found) == 1, f"chapter 5 has {len(found)} code cells with {marker!r}"
    return found[0]


def test_tool_seed_0_has_chapter_5s_split_and_pairs(model, capsys):
    # Chapter 5's cell, run as the chapter runs it with the library's split (the exercise's solution is
    # checked against it by check_held_out_split); `das.` is the cell's name for dc before the migration.
    space = {"dc": dc, "das": dc, "model": model, "facts": dc.known_facts(model, "country"),
             "split_by_city": dc.split_by_city, "yours_or_library": lambda yours, library: library}
    exec(chapter_5_cell("train_eval = "), space)
    capsys.readouterr()
    train, test, unseen = dc.course_split(model)
    for ours, chapter in ((train, "train_cities"), (test, "test_cities"), (unseen, "unseen_cities")):
        assert ours.equals(space[chapter])
    train_pairs, sets = chapter_5_sets(model)
    assert train_pairs.equals(space["train_pairs"])
    for tool, chapter in (("train", "train_eval"), ("held_out", "test_pairs"), ("unseen_country", "unseen_pairs")):
        assert sets[tool].equals(space[chapter]), tool


def test_course_split_blanks_unknown_attributes(model):
    facts = dc.course_facts(model, keep=("continent",))
    known = set(dc.known_facts(model, ["country", "continent"]).city)
    assert facts.continent.isna().tolist() == [c not in known for c in facts.city]
    assert list(facts.city) == list(dc.known_facts(model, "country").city)
