"""book/instructor_guide.md against the chapters it schedules: every chapter's slot (a row "**Chapter N**" of a
"| time | what |" table) lasts at least the chapter's **Time:** line plus the guide's stated Colab wait, no two
slots of a table overlap, a plan named "chapters 0-4" schedules exactly those, the table of chapters
repeats each chapter's time and its exercises' minutes, and every "Exercise N.M" the guide names exists.
"""
import re
from pathlib import Path

import nbformat
import pytest

from tools import learner

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "book" / "instructor_guide.md"
CHAPTERS = learner.chapters(ROOT / "notebooks")
TIME_LINE = re.compile(r"\*\*Time:\*\* about (?:(\d+) hours?)?\s*(?:(\d+) minutes)?")
EXERCISE = re.compile(r"^#+\s*Exercise\s+(\d+\.\d+)\b.*?about (\d+) min", re.MULTILINE)
SLOT = re.compile(r"^\| (\d+):(\d\d)-(\d+):(\d\d) \| (.*) \|$")
CHAPTER_SLOT = re.compile(r"\*\*Chapter (\d+)\*\*")
COLAB_WAIT = re.compile(r"\*\*Colab wait: (\d+) minutes per chapter\*\*")


def chapter_times(chapters=CHAPTERS):
    """{chapter number: (minutes of its Time line, {exercise: minutes})}."""
    found = {}
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        time = TIME_LINE.search(text)
        assert time and (time[1] or time[2]), f"{path.name}: no '**Time:** about N minutes' line"
        minutes = 60 * int(time[1] or 0) + int(time[2] or 0)
        found[int(path.name[:2])] = (minutes, {n: int(m) for n, m in EXERCISE.findall(text)})
    return found


def schedules(text):
    """[(heading, [(start minute, end minute, what)])] of every "| time | what |" table, under its nearest heading."""
    found, heading, rows = [], None, None
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.strip() == "| time | what |":
            rows = []
            found.append((heading, rows))
        elif rows is not None and line.startswith("|"):
            slot = SLOT.match(line.strip())
            if slot:
                h1, m1, h2, m2, what = slot.groups()
                rows.append((60 * int(h1) + int(m1), 60 * int(h2) + int(m2), what))
            else:
                assert set(line.replace("|", "").strip()) <= {"-", " "}, f"not a 'H:MM-H:MM | what' row: {line!r}"
        else:
            rows = None
    return found


def problems(guide, times):
    """What is wrong with the schedules of `guide` (its text) for the chapters' `times`."""
    wait = COLAB_WAIT.search(guide)
    if not wait:
        return ["the guide states no '**Colab wait: N minutes per chapter**'"]
    wait, found = int(wait[1]), []
    tables = schedules(guide)
    if not tables:
        return ["no '| time | what |' schedule"]
    for heading, rows in tables:
        for (start, end, what), previous in zip(rows, [None] + rows):
            clock = f"{start // 60}:{start % 60:02d}-{end // 60}:{end % 60:02d}"
            if end <= start:
                found.append(f"{heading}: slot {clock} ends before it starts")
            if previous and start < previous[1]:
                found.append(f"{heading}: slot {clock} overlaps the slot before it")
            if re.match(r"Chapter \d+[\s,(]", what):
                found.append(f"{heading}: slot {clock} reads a chapter: write it **Chapter N** so that it is checked")
            for number in map(int, CHAPTER_SLOT.findall(what)):
                need = times[number][0] + wait
                if end - start < need:
                    found.append(f"{heading}: chapter {number} gets {end - start} min ({clock}); it needs "
                                 f"{times[number][0]} (its Time line) + {wait} (Colab wait)")
            for number, minutes in re.findall(r"Exercise (\d+\.\d+) \((\d+) min", what):
                want = {e: m for _, (_, ex) in times.items() for e, m in ex.items()}.get(number)
                if want and int(minutes) < want:
                    found.append(f"{heading}: Exercise {number} gets {minutes} min; the chapter says {want}")
        named = re.search(r"chapters (\d+)-(\d+)", heading or "")
        planned = {int(n) for _, _, what in rows for n in CHAPTER_SLOT.findall(what)}
        if named and planned != set(range(int(named[1]), int(named[2]) + 1)):
            found.append(f"{heading}: schedules chapters {sorted(planned)}")
    return found


def test_guide_schedules_every_chapter_for_its_stated_time():
    found = problems(GUIDE.read_text(encoding="utf-8"), chapter_times())
    assert not found, "book/instructor_guide.md disagrees with the chapters:\n" + "\n".join(found)


def test_guide_has_a_plan_for_chapters_0_to_4():
    headings = [heading for heading, _ in schedules(GUIDE.read_text(encoding="utf-8"))]
    assert any("chapters 0-4" in (h or "") for h in headings), f"no plan for chapters 0-4 among {headings}"


def test_problems_catches_a_short_slot_an_overlap_and_a_short_exercise():
    times = {1: (60, {"1.1": 15}), 2: (50, {})}
    guide = ("**Colab wait: 5 minutes per chapter**\n\n### Plan (chapters 1-2)\n\n| time | what |\n| --- | --- |\n"
             "| 0:00-0:40 | **Chapter 1** and Exercise 1.1 (10 min) |\n| 0:30-1:30 | **Chapter 2** |\n"
             "| 1:30-1:40 | Chapter 2 and its exercises |\n")
    found = problems(guide, times)
    assert any("chapter 1 gets 40 min" in f for f in found)
    assert any("overlaps" in f for f in found)
    assert any("Exercise 1.1 gets 10 min" in f for f in found)
    assert not any("chapter 2 gets" in f for f in found)
    assert any("1:30-1:40 reads a chapter" in f for f in found)
    assert problems(guide.replace("**Colab wait: 5 minutes per chapter**", ""), times)


def test_guide_table_repeats_the_chapters_times_and_exercise_minutes():
    times = chapter_times()
    rows = {}
    for line in GUIDE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.match(r"\d \w", cells[0]):
            rows[int(cells[0][0])] = cells
    for number, (minutes, exercises) in times.items():
        assert number in rows, f"the guide's table of chapters has no row for chapter {number}"
        _, _, with_reading, listed = rows[number]
        assert re.match(rf"{minutes} min\b", with_reading), (
            f"chapter {number}: the guide says {with_reading!r}, the chapter's Time line {minutes} min")
        listed = {e: int(m) for e, m in re.findall(r"(\d+\.\d+) ★+☆* (\d+)", listed)}
        assert listed == exercises, f"chapter {number}: the guide lists exercises {listed}, the chapter {exercises}"


def test_every_exercise_the_guide_names_exists():
    exercises = {e for _, (_, ex) in chapter_times().items() for e in ex}
    named = set(re.findall(r"Exercises? (\d+\.\d+)", GUIDE.read_text()))
    named |= {m for group in re.findall(r"Exercises ((?:\d+\.\d+(?:, | and )?)+)", GUIDE.read_text())
              for m in re.findall(r"\d+\.\d+", group)}
    assert named <= exercises, f"the guide names exercises that do not exist: {sorted(named - exercises)}"


@pytest.mark.parametrize("claim, exercise", [("share can exceed 1", "1.2")])
def test_guide_points_at_the_right_exercise(claim, exercise):
    """The exercise whose text makes the claim is the one the guide names next to it."""
    sentence = next(s for s in re.split(r"(?<=[.;])\s", GUIDE.read_text()) if claim in s)
    assert f"Exercise {exercise}" in sentence, f"the guide says {sentence!r}"
    chapter = next(c for c in CHAPTERS if c.name.startswith(f"{int(exercise.split('.')[0]):02d}"))
    text = "\n".join(c.source for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "markdown")
    block = text[text.index(f"Exercise {exercise}"):]
    assert re.search(r"overshoot|above 1", block.split("### Exercise")[0]), f"Exercise {exercise} says nothing of it"
