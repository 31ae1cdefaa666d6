"""Every figure quoted in prose is in the output or committed file it cites (issue 26, item 6).

Two checks, no execution (they read the committed notebooks and data files):

- The registry `CLAIMS`: (file, quote, source). The quote must be in the file (whitespace-normalised, so line
  breaks do not matter) and every number in it must be one the source gives: a chapter's executed output
  lines (`Output`), or columns of a committed CSV/JSON in `dascourse/data/` rounded as the quote rounds
  them (`Csv`, `Json`). `COVERED` names the regions (README summary and chapter table, the settings and
  learning-curve pages, the instructor guide's results) where every decimal number must sit inside a
  registered quote, so a new figure there fails until it is registered with its source.
- A scan of chapters 1-7: every decimal number in a markdown cell must be printed by that chapter or be a
  value of a committed data file the chapter reads (`ALLOWED` lists the few that are not results).

When a test here fails, change the prose to what the output or file says (or register the new quote);
never change a number to match the prose.
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "dascourse" / "data"
NUMBER = re.compile(r"(?<![\w.\-])\d+(?:\.\d+)?(?![\w]|\.\d)")
DECIMAL = re.compile(r"(?<![\w.\-])\d*\.\d+(?![\w]|\.\d)")


def squash(text):
    """Collapse every run of whitespace (line breaks, table padding) into one space."""
    return re.sub(r"\s+", " ", text)


def numbers(text, decimals_only=True):
    """The numbers written in text, as written ('0.94', '48402'); decimals only unless told."""
    return [m.group() for m in (DECIMAL if decimals_only else NUMBER).finditer(text)]


def places(number):
    """Decimal places of a written number: '0.94' -> 2, '256' -> 0."""
    return len(number.split(".")[1]) if "." in number else 0


def written_as(number, printed):
    """Whether a printed number reads as the quoted one: the same text, or more places that round to it."""
    if printed == number:
        return True
    return places(printed) > places(number) and f"{float(printed):.{places(number)}f}" == number


def printed_as(number, text):
    """Whether text prints the quoted number (or a longer one that rounds to it)."""
    return any(written_as(number, printed) for printed in numbers(text, decimals_only=False))


def chapter(stem):
    return json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())


def output_text(notebook):
    """Every text output (stream, text/plain, text/markdown) of a notebook's code cells, joined."""
    parts = []
    for cell in notebook["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for kind in ("text/plain", "text/markdown"):
                parts.append("".join(out.get("data", {}).get(kind, "")))
    return "\n".join(parts)


def markdown_cells(notebook):
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"]


@dataclass
class Output:
    """Numbers printed by a chapter: in its output lines that match `line` (a regex), or in all of them."""
    stem: str
    line: str = ""

    def holds(self, number):
        lines = [ln for ln in output_text(chapter(self.stem)).splitlines() if re.search(self.line, ln)]
        assert lines, f"no output line of {self.stem} matches {self.line!r}"
        return any(printed_as(number, ln) for ln in lines)

    def __str__(self):
        return f"{self.stem}'s output lines matching {self.line!r}"


@dataclass
class Csv:
    """Values of `columns` in dascourse/data/`name` (rows where `where` holds), rounded as the quote rounds
    them; with `agg`, also their min, max and mean over those rows (a quoted range or mean), per value of
    the column `by` when given."""
    name: str
    columns: list
    where: dict = field(default_factory=dict)
    agg: bool = False
    by: str = ""

    def values(self):
        table = pd.read_csv(DATA / self.name)
        for column, value in self.where.items():
            table = table[table[column] == value]
        assert len(table), f"no row of {self.name} has {self.where}"
        groups = [group for _, group in table.groupby(self.by)] if self.by else [table]
        for column in self.columns:
            yield from table[column]
            if self.agg:
                for group in groups:
                    yield from (group[column].min(), group[column].max(), group[column].mean())

    def holds(self, number):
        return any(f"{float(v):.{places(number)}f}" == number for v in self.values())

    def __str__(self):
        return f"{self.name}[{', '.join(self.columns)}] where {self.where}"


@dataclass
class Json:
    """Numbers at `path` (a list of keys) in dascourse/data/`name`, and in everything under it."""
    name: str
    path: list

    def holds(self, number):
        value = json.loads((DATA / self.name).read_text())
        for key in self.path:
            value = value[key]
        return any(f"{float(v):.{places(number)}f}" == number for v in leaves(value))

    def __str__(self):
        return f"{self.name} at {self.path}"


def leaves(value):
    """The numbers in a JSON value, however deeply nested."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [n for item in value for n in leaves(item)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


@dataclass
class Union:
    """A quote whose numbers come from several sources."""
    sources: list

    def holds(self, number):
        return any(source.holds(number) for source in self.sources)

    def __str__(self):
        return " or ".join(map(str, self.sources))


@dataclass
class Claim:
    file: str          # a path from the repo root, or a chapter stem (its markdown cells)
    quote: str         # exact text, whitespace-insensitive
    source: object
    integers: bool = False   # check whole numbers too (table rows), not only decimals

    def text(self):
        if self.file.endswith(".md"):
            return (ROOT / self.file).read_text()
        return "\n".join(markdown_cells(chapter(self.file)))


CH5, CH6, CH7 = "05_training_das", "06_evaluating_das", "07_multitask_das"
SEEDS5 = Csv("training_seeds.csv", ["iia_train", "iia_held_out", "iia_unseen_country"], agg=True)
CURVE, KSWEEP = "learning_curve.csv", "evaluation_ksweep.csv"
CURVE_COLUMNS = ["n_train_entities", "n_train_pairs", "seed", "held_out_cause", "held_out_cause_lo",
                 "held_out_cause_hi"]

CLAIMS = [
    # README: the summary paragraph and the chapter table.
    Claim("README.md", "recovers the variables almost perfectly (IIA 0.98)", Output("04_causal_abstraction", "DAS")),
    Claim("README.md", "moves the country on about 0.8 of held-out pairs",
          Union([Output(CH5, r"^DAS \(after\)"), SEEDS5])),
    Claim("README.md", "DAS 0.98 / 0.99 for V1 / V2 (0.98 swapped together) against the best of all 496 neuron pairs "
          "0.67, random rotations 0.52, full-layer patching 0.49 and a wrong high-level model 0.81-0.82",
          Output("04_causal_abstraction")),
    Claim("README.md", '"mean_val_cause": 0.7239}, {"layer": 16, "k": 256, "lr": 0.003, ..., "mean_val_cause": 0.7187}, '
          '..., {"layer": 8, "k": 32, "lr": 0.01, ..., "mean_val_cause": 0.375}]}',
          Json("course_selection.json", ["configurations"]), integers=True),
    Claim("README.md", "e.g. `8,32,0.003,16,0,100,0.4961,0.3756,0.6259,256,45,30.8`",
          Csv("course_selection.csv", ["layer", "k", "lr", "batch_size", "seed", "steps", "val_cause", "val_cause_lo",
                                       "val_cause_hi", "n_val_pairs", "n_val_entities", "train_seconds"],
              {"layer": 8, "k": 32, "lr": 0.003, "seed": 0}), integers=True),
    Claim("book/intro.md", "moves the country on about 0.8 of held-out pairs",
          Union([Output(CH5, r"^DAS \(after\)"), SEEDS5])),
    # Chapter 8 quotes chapter 5.
    Claim("08_scaling_up", "IIA 0.94 on training pairs, 0.77 on held-out pairs, 0.23 on unseen-country pairs",
          Output(CH5, r"^DAS \(after\)")),
    Claim("08_scaling_up", "layer 12, k = 256, 100 steps of 16 pairs", Output(CH5, r"^\{'layer'"), integers=True),
    Claim("08_scaling_up", "full patching 0.83 / 0.86 / 0.58", Output(CH5, r"^full patching")),
    Claim("08_scaling_up", "random R_k (mean of 5 seeds) 0.12 / 0.10 / 0.01", Output(CH5, r"^random R_k")),
    # Chapters 6 and 7 quote their own printed tables (the row named by `line`)...
    # CH6_OUTPUT_CLAIMS
    Claim(CH7, "moves the country on 0.81 of the held-out pairs [0.67, 0.94], but keeps the base's continent on only "
          "0.17 and its language on 0.05", Output(CH7, r"^DAS ")),
    Claim(CH7, "keeps them far more often (0.66 and 0.39) and moves the country less (0.62)", Output(CH7, r"^MDAS ")),
    Claim(CH7, "([0.00, 0.14] against [0.22, 0.59])", Output(CH7, r"^(DAS|MDAS) ")),
    # ... and the committed seed tables they read.
    # CH6_FILE_CLAIMS: chapter 6's quotes of its k-curve and paired-difference tables go here once executed
    *[Claim(CH7, quote, Csv("multitask_seeds.csv", [column], {"method": method}, agg=True))
      for quote, column, method in [
          ("DAS's Cause stays between 0.77 and 0.81", "cause", "DAS"),
          ("MDAS's between 0.60 and 0.70", "cause", "MDAS"),
          ("DAS's Isolate between 0.11 and 0.14", "isolate", "DAS"),
          ("MDAS's between 0.47 and 0.55", "isolate", "MDAS"),
          ("Disentangle rises from DAS's 0.45-0.48", "disentangle", "DAS"),
          ("to MDAS's 0.57-0.58 in every seed", "disentangle", "MDAS"),
          ("(0.11-0.14 for DAS", "isolate", "DAS"), ("0.47-0.55 for MDAS)", "isolate", "MDAS"),
          ("lowers Cause (0.77-0.81", "cause", "DAS"), ("against 0.60-0.70)", "cause", "MDAS")]],
    # The instructor guide's quoted results.
    Claim("book/instructor_guide.md", "held-out IIA 0.76 to 0.81 over seeds 0, 1 and 2 (0.14 to 0.23 on cities "
          "of unseen countries), training IIA 0.94 to 0.96", SEEDS5),
    # book/settings.md
    Claim("book/settings.md", "DAS runs at layers 8, 12 and 16 with k in {1, 4, 16, 64, 256}",
          Union([Json("course_selection.json", [key]) for key in ("layers", "das_ks")]), integers=True),
    Claim("book/settings.md", "MDAS at layers 8 and 12 with k in {4, 16, 64}",
          Union([Json("course_selection.json", [key]) for key in ("mdas_layers", "mdas_ks")]), integers=True),
    Claim("book/settings.md", "k = 64 has Cause 0.66, which the validation pairs cannot tell from k = 256's; but layer "
          "16's best Cause (0.72) is below layer 12's (0.73)", Json("course_selection.json", ["das"]), integers=True),
    Claim("book/settings.md", "(Isolate 0.24 against full patching's Cause 0.85 and Isolate 0.19 at that layer)",
          Union([Json("course_selection.json", ["das"]),
                 Csv("course_selection.csv", ["cause", "isolate"], {"method": "full patching", "layer": 12})])),
    Claim("book/settings.md", "Disentangle, 0.60 (Cause 0.44, Isolate 0.77), is at **layer 12, k = 64**",
          Json("course_selection.json", ["mdas"]), integers=True),
    Claim("book/settings.md", "(Cause on 256 pairs;", Json("course_selection.json", ["n_val_pairs"]), integers=True),
    Claim("book/settings.md", "Fixed at lr 3e-3 and 16 pairs per step", Json("course_selection.json", ["batch_size"]),
          integers=True),
    Claim("book/settings.md", "100 steps of 16 pairs for every run",
          Union([Json("course_selection.json", [key]) for key in ("steps", "batch_size")]), integers=True),
    # book/learning_curve.md: the figure's description, the table (every row, integers too) and the prose.
    Claim("book/learning_curve.md", "about 0.3 with 10 and 20 cities, 0.54 with 40, 0.60 with 80 and 0.68 with "
          "all 223", Csv(CURVE, ["held_out_cause"], agg=True, by="n_train_entities")),
    *[Claim("book/learning_curve.md", row, Csv(CURVE, CURVE_COLUMNS, {"n_train_entities": n}, agg=True),
            integers=True)
      for n, row in [
          (10, "| 10 | 84 | 0 | 0.33 | [0.24, 0.44] | 0.30 |"), (10, "| 10 | 84 | 1 | 0.26 | [0.18, 0.36] | 0.30 |"),
          (20, "| 20 | 364 | 0 | 0.34 | [0.24, 0.46] | 0.35 |"), (20, "| 20 | 364 | 1 | 0.36 | [0.27, 0.46] | 0.35 |"),
          (40, "| 40 | 1528 | 0 | 0.55 | [0.43, 0.67] | 0.54 |"), (40, "| 40 | 1528 | 1 | 0.53 | [0.41, 0.65] | 0.54 |"),
          (80, "| 80 | 6202 | 0 | 0.60 | [0.49, 0.71] | 0.60 |"), (80, "| 80 | 6202 | 1 | 0.60 | [0.49, 0.72] | 0.60 |"),
          (223, "| 223 | 48402 | 0 | 0.65 | [0.53, 0.77] | 0.68 |"),
          (223, "| 223 | 48402 | 1 | 0.72 | [0.61, 0.82] | 0.68 |")]],
    Claim("book/learning_curve.md", "0.001 with 10 cities and 0.002 with 20", Csv(CURVE, ["loss_last_10"])),
    Claim("book/learning_curve.md", "(0.03 at 40, 0.15-0.17 at 80, 0.18-0.39 at 223)", Csv(CURVE, ["loss_last_10"])),
    Claim("book/learning_curve.md", "Held-out Cause jumps from 0.35 with 20 cities to 0.54 with 40, about four "
          "fifths of the 0.68 reached with all 223; 80 adds little more (0.60). Below 40 it falls to about 0.3",
          Csv(CURVE, ["held_out_cause"], agg=True, by="n_train_entities")),
    Claim("book/learning_curve.md", "(0.41-0.67 at 40, 0.53-0.82 at 223, over both seeds)",
          Csv(CURVE, ["held_out_cause_lo", "held_out_cause_hi"], agg=True, by="n_train_entities")),
    Claim("book/learning_curve.md", "with 32 pairs per step", Csv(CURVE, ["batch_size"]), integers=True),
    Claim("book/learning_curve.md", "and 100 steps;", Csv(CURVE, ["steps"]), integers=True),
]

# Regions where every decimal number must lie inside a registered quote: (file, first line, last line).
COVERED = [
    ("README.md", "# Distributed Alignment Search", "## Two commands"),
    ("README.md", "## Chapters", "## Fast DAS on a CPU"),
    ("book/settings.md", "", ""),
    ("book/intro.md", "", ""),
    ("book/learning_curve.md", "", ""),
    ("book/instructor_guide.md", "## Numbers on a GPU or on Colab", "## A room without Wi-Fi"),
    ("08_scaling_up", "Compare with chapter 5", "Questions to ask"),
]

# Decimal numbers that are not results (targets, thresholds, arithmetic), so no output prints them; by file
# or chapter, for both the covered regions and the chapter scan. Keep it short: a result never goes here.
ALLOWED = {
    "README.md": {"0.8"},                       # MDAS's goal, Cause and Isolate both >= 0.8 (RAVEL's), a target
    "book/instructor_guide.md": {"0.5"},        # an example of a held-out IIA that would be a bug, not a result
    "03_rotated_subspace_patching": {"1.4"},    # k/d = 8/576 as a percentage, arithmetic in the prose
    "04_causal_abstraction": {"0.5", "0.9"},    # chance for V1 on random pairs; exercise 4.2's pass threshold
    "05_training_das": {"0.0", "1.0"},          # the two values IIA can take on one pair (exercise 5.1)
    "06_evaluating_das": {"0.15"},              # "often ±0.15 or more": the typical interval half-width, a scale
    "07_multitask_das": {"0.8"},                # MDAS's goal, Cause and Isolate both >= 0.8, a target
}
EXERCISE = re.compile(r"[Ee]xercises? (\d+\.\d+)")


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.file}: {c.quote[:40]}")
def test_quote_is_where_it_is_claimed_and_its_numbers_in_the_source(claim):
    if squash(claim.quote) not in squash(claim.text()):
        pytest.fail(f"{claim.file} no longer says {claim.quote!r}: update the registry in {Path(__file__).name} "
                    "with the new wording (and check its numbers against the source)")
    found = numbers(claim.quote, decimals_only=not claim.integers)
    assert found, f"the quote {claim.quote!r} has no number to check"
    missing = [n for n in found if not claim.source.holds(n)]
    assert not missing, (f"{claim.file} quotes {missing} in {claim.quote!r}, but {claim.source} does not give "
                         "them: change the prose to what the source says")


def region(text, first, last):
    start = text.index(first) if first else 0
    return text[start:text.index(last, start) if last else len(text)]


@pytest.mark.parametrize("file, first, last", COVERED, ids=lambda v: str(v)[:30])
def test_every_decimal_in_a_covered_region_is_registered(file, first, last):
    text = squash(re.sub(r"`[^`]*`", " ", region(Claim(file, "", None).text(), first, last)))  # code is no quote
    quotes = [squash(c.quote) for c in CLAIMS if c.file == file]
    for quote in quotes:
        text = text.replace(quote, " ")
    loose = [n for n in numbers(text) if n not in set(EXERCISE.findall(text)) | ALLOWED.get(file, set())]
    assert not loose, (f"{file} ({first or 'whole file'}) quotes {loose} outside any registered claim: add a "
                       f"Claim with its source to CLAIMS in {Path(__file__).name}")


def data_files_read(notebook):
    """The committed data files a chapter's code reads: dascourse/data/NAME, and the settings JSON."""
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    names = set(re.findall(r"data/([\w.]+\.(?:csv|json))", code))
    if "course_settings" in code:
        names.add("course_selection.json")
    return names


def data_values(name):
    if name.endswith(".json"):
        return [float(v) for v in numbers((DATA / name).read_text(), decimals_only=False)
                if v.replace(".", "").isdigit()]
    table = pd.read_csv(DATA / name)
    return [float(v) for column in table.select_dtypes("number") for v in table[column]]


CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("0[1-79]_*.ipynb"))  # not 08: its cells are not run


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_decimal_in_a_chapters_prose_is_printed_or_read(stem):
    notebook = chapter(stem)
    printed = output_text(notebook)
    values = [v for name in data_files_read(notebook) for v in data_values(name)]
    missing = []
    for text in markdown_cells(notebook):
        exercises = set(EXERCISE.findall(text))
        for m in DECIMAL.finditer(text):
            n = m.group()
            if n in exercises or n in ALLOWED.get(stem, ()) or printed_as(n, printed):
                continue
            if any(f"{v:.{places(n)}f}" == n for v in values):
                continue
            missing.append((n, squash(text[max(0, m.start() - 60):m.end() + 20])))
    assert not missing, (f"{stem}'s prose quotes numbers none of its outputs prints and no data file it reads "
                         f"holds: {missing}. Change the prose to the printed value (or, for a number that is "
                         "not a result, add it to ALLOWED with why)")
