"""Every figure quoted in prose is in the output or committed file it cites (issue 26, item 6).

Two checks, no execution (they read the committed notebooks and data files):

- The registry `CLAIMS`: (file, quote, source). The quote must be in the file (whitespace-normalised, so line
  breaks do not matter) and every number in it (with its sign, both ends of a range: `numbers`) must be one
  the source gives: a chapter's executed output
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
# A number's start: after a hyphen that follows a digit it is a range's second end ("0.66-0.70" is 0.66 and
# 0.70); otherwise a "-" is its sign unless a word, dot or hyphen precedes it ("[-0.12", " -0.05", "(-0.07";
# "GPT-2", "3e-3" and "0.8.1" are no numbers).
START = r"(?:(?<=\d-)|(?<![\w.\-])-?)"
NUMBER = re.compile(START + r"\d+(?:\.\d+)?(?![\w]|\.\d)")
DECIMAL = re.compile(START + r"\d*\.\d+(?![\w]|\.\d)")


@pytest.mark.parametrize("text, found", [
    ("-0.05 [-0.12, 0.00]", ["-0.05", "-0.12", "0.00"]),   # a sign after a space, "[" or ", " is kept
    ("(-0.07; x = -1.5)", ["-0.07", "-1.5"]),
    ("0.66-0.70, 1-4 and 0.18 - 0.39", ["0.66", "0.70", "1", "4", "0.18", "0.39"]),  # a range: both ends
    ("GPT-2, lr 3e-3, nnsight 0.8.1, Qwen2.5-0.5B, x-0.5, --0.4", []),  # names, exponents, versions
])
def test_numbers_reads_signs_and_both_ends_of_a_range(text, found):
    assert numbers(text, decimals_only=False) == found


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
    the column `by` (or each combination of the columns of a list) when given."""
    name: str
    columns: list
    where: dict = field(default_factory=dict)
    agg: bool = False
    by: "str | list" = ""

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
        # a quote may give a difference's size in words ("0.05 below"): its absolute value counts too
        return any(number in (f"{float(v):.{places(number)}f}", f"{abs(float(v)):.{places(number)}f}")
                   for v in leaves(value))

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
CURVE, KSWEEP = "learning_curve.csv", "evaluation_ksweep.csv"
COURSE_K = json.loads((DATA / "course_selection.json").read_text())["das"]["k"]  # chapter 5's k (make selection)
# Chapter 5's seed spread: the grid's DAS runs at the course's k on held-out pairs (evaluation_ksweep.csv).
GRID5 = Csv(KSWEEP, ["cause", "cause_lo", "cause_hi"], {"method": "DAS", "k": COURSE_K}, agg=True)
CURVE_COLUMNS = ["n_train_entities", "n_train_pairs", "seed", "held_out_cause", "held_out_cause_lo",
                 "held_out_cause_hi"]

CLAIMS = [
    # README: the summary paragraph and the chapter table.
    Claim("README.md", "recovers the variables almost perfectly (IIA 0.98)", Output("04_causal_abstraction", "DAS")),
    Claim("README.md", "moves the country on about 0.7 of held-out pairs", Union([Output(CH5), GRID5])),
    Claim("README.md", "DAS 0.98 / 0.99 for V1 / V2 (0.98 swapped together) against the best of all 496 neuron pairs "
          "0.67, random rotations 0.52, full-layer patching 0.49 and a wrong high-level model 0.81-0.82",
          Output("04_causal_abstraction")),
    Claim("README.md", '{"das": {"layer": 16, "k": 64, "best_k": 256, "mean_val_cause": 0.6641, "mean_val_isolate": '
          '0.2397, "mean_val_disentangle": 0.4519, "best_mean_val_cause": 0.7175, "minus_best": [-0.0534, -0.1184, '
          '0.0016], "rule": "...", "per_layer": [...], "lr": 0.003, "batch_size": 16, "steps": 100}, ...}',
          Json("course_selection.json", ["das"]), integers=True),
    Claim("book/intro.md", "moves the country on about 0.7 of held-out pairs", Union([Output(CH5), GRID5])),
    # README's command-line section: the continent question, from the committed entanglement table.
    Claim("README.md", "(`make evaluation`, 64 held-out pairs per attribute)", Csv("entanglement.csv",
          ["pairs_per_attribute"]), integers=True),
    Claim("README.md", "the subspace trained for the country moves the continent on 0.72 [0.44, 0.94] of the pairs",
          Csv("entanglement.csv", ["continent", "continent_lo", "continent_hi"], {"trained for": "country"})),
    Claim("README.md", "the one trained for the continent moves the country on only 0.22 [0.02, 0.46]",
          Csv("entanglement.csv", ["country", "country_lo", "country_hi"], {"trained for": "continent"})),
    Claim("README.md", "The country subspace also moves the language (0.81 [0.57, 0.98])",
          Csv("entanglement.csv", ["language", "language_lo", "language_hi"], {"trained for": "country"})),
    # Chapter 8 quotes chapter 5.
    Claim("08_scaling_up", "layer 16, k = 64, 100 steps of 16 pairs", Json("course_selection.json", ["das"]), integers=True),
    Claim("08_scaling_up", "IIA 0.90 / 0.68 / 0.08 on 256 training pairs, 256 held-out pairs and 64 unseen-country "
          "pairs; full patching 0.77 / 0.84 / 0.59; the untrained start of its rotation 0.00 / 0.00 / 0.00",
          Output(CH5, "IIA on train / held-out / unseen-country pairs")),
    # Chapters 6 and 7 quote their own printed tables (the row named by `line`)...
    # CH6_OUTPUT_CLAIMS
    *[Claim(CH6, quote, Output(CH6, line), integers=ints) for quote, line, ints in [
        # the held-out cities' table (one seed, 64 pairs), and the four sets
        ("On held-out cities DAS moves the country on 0.83 [0.62, 0.97] of the pairs", r"^DAS\s", False),
        ("full patching on 0.94 [0.79, 1.00]", r"^full patching\s", False),
        ("PCA of differences on 0.77", r"^PCA of differences\s", False),
        ("the best 64 neurons on 0.58", r"^best k neurons \(attribution\)", False),
        ("the three random subspaces on 0.02 or less", r"^random subspace \(draw", False),
        ("DAS keeps the base's continent and language on only 0.06", r"^DAS\s", False),
        ("about as little as full patching (0.09 and 0.03)", r"^full patching\s", False),
        ("(continent 0.72 to 0.84)", r"^random subspace \(draw", False),
        ("DAS's 0.45 says", r"^DAS\s", False),
        ("(DAS's Cause 0.73 [0.53, 0.93] and 0.80 [0.61, 0.95] on templates 1 and 2", r"^DAS\s", False),
        ("full patching 0.92 and 0.91)", r"^full patching\s", False),
        ("64 pairs of 13 to 25 held-out cities", r"pairs of \d+ cities", True),
        ("with intervals as wide as [0.53, 0.93]", r"^DAS\s", False),
        # the gap, measured as chapter 5 does
        ("DAS moves the country on 0.93 [0.84, 0.99] of the training pairs and on 0.65 [0.48, 0.80]",
         r"^DAS \(after\)", False),
        ("scores the same on both (0.82 and 0.83)", r"^full patching\s", False),
        ("with 32,768 degrees of freedom", "degrees of freedom", True),
        ("(0.86 against 0.83)", r"^DAS\s", False),
        ("scores 0.83 on their held-out pairs against 0.65 here", r"^DAS", False),
        ("(its DAS at k = 64: 0.68 [0.56, 0.79])", r"^\s+DAS\s+64\s", True),
        # the k curve
        ("at k = 1 and 4 DAS's Cause is 0.00 and 0.11", r"^\s+DAS\s+[14]\s", True),
        ("the untrained controls' at most 0.01", r"^\s*(PCA of differences|best k neurons|random subspace)\s+[14]\s", False),
        ("A random subspace stays at Cause 0.00 up to k = 64 (Isolate 0.88", r"^\s+random subspace\s+\d", True),
        ("Cause 0.50 [0.37, 0.63] at k = 16, where PCA reaches 0.20, the masks of 22 to 27 neurons 0.07 and the best "
         "16 neurons 0.01", r"^\s*(DAS|PCA of differences|best k neurons|learned mask \(DBM\))\s+(16|22-27)\s", True),
        ("0.68 [0.56, 0.79] at the course's k = 64, against PCA's 0.59, the masks of 59 to 66 neurons' 0.42 and the "
         "best 64 neurons' 0.38", r"^\s*(DAS|PCA of differences|best k neurons|learned mask \(DBM\))\s+(64|59-66)\s",
         True),
        ("(0.17 at k = 16, 0.13 at k = 64)", r"^\s+DAS\s+(16|64)\s", True),
        ("below the 0.5 line of Disentangle (0.44 at most)", r"^\s+DAS\s", False),
        ("DAS 0.77, PCA 0.80, the best 256 neurons 0.74 and the masks of 112 to 114 neurons 0.78, against full "
         "patching's 0.84 [0.72, 0.94], all with Isolate 0.11 to 0.15 (full patching 0.08)",
         r"^\s*(DAS|PCA of differences|best k neurons|learned mask \(DBM\)|full patching)\s+(256|112-114|576)\s",
         True),
        ("at k = 64 and 256 (0.53 and 0.56, points", r"^\s+MDAS\s+(64|256)\s", True),
        ("(at k = 64, 0.46 [0.34, 0.58] against 0.60 [0.46, 0.75])", r"^\s+MDAS\s+64\s", True),
        ("(Cause 0.66-0.70 at k = 64, 0.75-0.78 at k = 256)", r"^\s+DAS\s+(64|256)\s", False),
        # DAS minus each control, paired
        ("at k = 64 by 0.30 [0.20, 0.42] over the best neurons, 0.26 [0.17, 0.36] over the mask of 63 neurons on "
         "average, 0.22 [0.14, 0.30] over MDAS", r"\((k 64|lambda 0\.1, k 63)\)", True),
        ("the 113-neuron mask or full patching", r"\(lambda 0\.03, k 113\)", True),
        ("(0.15 [0.08, 0.21])", r"MDAS \(k 256\)", False),
        ("0.09 [0.01, 0.18], only just excludes 0, and Isolate cannot tell them apart (continent -0.09 [-0.23, 0.02], "
         "language 0.02 [-0.05, 0.09])", r"PCA of differences \(k 64\)", False),
        ("(0.05 [-0.02, 0.15] and 0.05 [-0.02, 0.12])", r"full patching \(k 576\)", False),
        ("(full patching's Cause, -0.07 [-0.16, 0.00], just reaches it)", r"full patching \(k 576\)", False),
        # entanglement, by row
        ("moves the continent on 0.72 [0.44, 0.94] and the language on 0.81 [0.57, 0.98]", r"^country\s+0", False),
        ("about as often as the country (0.83)", r"^country\s+0", False),
        ("(country 0.69, continent 0.50)", r"^language\s+0", False),
        ("0.83 [0.58, 1.00] but the country on only 0.22 [0.02, 0.46] and the language on 0.27 [0.11, 0.50]",
         r"^continent\s+0", False),
        # does the continent follow the country?
        ("leaves it on 0.88 [0.75, 1.00]); DAS leaves it on only 0.17 [0.04, 0.35]", r"^(random subspace \(draw 0\)|DAS)\s", False),
        ("and DAS does on 0.66 [0.45, 0.85]", r"^DAS\s", False),
        ("splits the answers the same way (0.18, 0.65 and 0.17", r"^full patching\s", False),
        ("(0.81 in the table above)", r"^country\s+0", False),
        # the span's dormancy
        ("The least natural variance inside DAS's span is 0.165 of the layer's average, above the random subspaces' "
         "2.5% to 97.5% range [0.117, 0.149] (mean 0.133)", r"natural variance|random \d+-dim subspaces", False),
        ("least-varied direction has 0.133 of the average", r"random \d+-dim subspaces", False),
        ("Σ comes from 1275 states", r"^Sigma from", True),
        # the takeaway
        ("which full patching (0.50 here) also reaches", r"^full patching\s", False),
        ("(paired difference 0.68 [0.56, 0.79])", r"random subspace \(k 64\)", False),
        ("(0.66 against 0.65)", r"^(DAS|full patching)\s", False),
        ("The training-city score alone (0.93)", r"^DAS \(after\)", False),
    ]],
    # ... and the committed grid files they read.
    # CH6_FILE_CLAIMS
    Claim(CH6, "moves the continent on 0.72 [0.44, 0.94] and the language on 0.81 [0.57, 0.98]",
          Csv("entanglement.csv", ["continent", "continent_lo", "continent_hi", "language", "language_lo",
                                   "language_hi"], {"trained for": "country"})),
    Claim(CH6, "0.83 [0.58, 1.00] but the country on only 0.22 [0.02, 0.46] and the language on 0.27 [0.11, 0.50]",
          Csv("entanglement.csv", ["continent", "continent_hi", "continent_lo", "country", "country_lo", "country_hi",
                                   "language", "language_lo", "language_hi"], {"trained for": "continent"})),
    Claim(CH6, "(Cause 0.66-0.70 at k = 64, 0.75-0.78 at k = 256)",
          Csv(KSWEEP, ["cause"], {"method": "DAS"}, agg=True, by="k")),
    # CH7_CLAIMS
    # The instructor guide's quoted results.
    Claim("book/instructor_guide.md", "at the course's k, move the country on 0.66 to 0.70 of the held-out pairs", GRID5),
    # book/settings.md
    Claim("book/settings.md", "DAS runs at layers 8, 12, 16 and 20 with k in {1, 4, 16, 64, 256}",
          Union([Json("course_selection.json", [key]) for key in ("layers", "das_ks")]), integers=True),
    Claim("book/settings.md", "MDAS at the same four layers with k in {4, 16, 64, 256}",
          Union([Json("course_selection.json", [key]) for key in ("mdas_layers", "mdas_ks")]), integers=True),
    Claim("book/settings.md", "smaller grid had chosen layer 12, k = 64 (0.60)",
          Csv("course_selection.csv", ["disentangle", "layer", "k"], {"method": "MDAS", "layer": 12, "k": 64}, agg=True),
          integers=True),
    Claim("book/settings.md", "(0.56 against 0.46) and its mean Isolate lower (0.66 against 0.81), so its mean "
          "Disentangle is lower (0.61); at layer 12, k = 256 it is 0.61",
          Csv("course_selection.csv", ["cause", "isolate", "disentangle", "layer", "k"], {"method": "MDAS"}, agg=True,
              by=["layer", "k"]), integers=True),
    Claim("book/settings.md", "best Cause 0.73 against layer 16's 0.72), and with layer 20 added it would be layer 20 "
          "(0.74)", Json("course_selection.json", ["das"]), integers=True),
    Claim("book/settings.md", "the best Causes of layers 12 and 20 (0.73 and 0.74) are hardly above layer 16's (0.72)",
          Json("course_selection.json", ["das"]), integers=True),
    Claim("book/settings.md", "(k = 64's Cause 0.64 against k = 256's 0.74, a paired interval that excludes 0), and "
          "MDAS's best Disentangle is 0.63", Csv("course_selection.csv", ["cause", "disentangle", "k"], {"layer": 20},
                                                 agg=True, by=["method", "k"]), integers=True),
    Claim("book/settings.md", "its Cause is 0.66, 0.05 below k = 256's", Json("course_selection.json", ["das"]),
          integers=True),
    Claim("book/settings.md", "moves almost no country (Cause 0.00)",
          Csv("course_selection.csv", ["cause"], {"method": "random subspace", "layer": 16, "k": 64})),
    Claim("book/settings.md", "(Cause 0.82) and keeps less (Isolate 0.18, against DAS's 0.24)",
          Union([Json("course_selection.json", ["das"]),
                 Csv("course_selection.csv", ["cause", "isolate"], {"method": "full patching", "layer": 16})])),
    Claim("book/settings.md", "Disentangle, 0.64 (Cause 0.46, Isolate 0.81), is at **layer 16, k = 64**",
          Json("course_selection.json", ["mdas"]), integers=True),
    Claim("book/settings.md", "(Cause on 256 pairs;", Json("course_selection.json", ["n_val_pairs"]), integers=True),
    Claim("book/settings.md", "Fixed at lr 3e-3 and 16 pairs per step", Json("course_selection.json", ["batch_size"]),
          integers=True),
    Claim("book/settings.md", "100 steps of 16 pairs for every run",
          Union([Json("course_selection.json", [key]) for key in ("steps", "batch_size")]), integers=True),
    # book/learning_curve.md: the figure's description, the table (every row, integers too) and the prose.
    Claim("book/learning_curve.md", "0.07 with 10 cities, 0.17 with 20, 0.37 with 40, 0.42 with 80 and 0.58 with all "
          "223 (layer 16, k = 64, 100 steps of 16 pairs, 56 held-out cities)",
          Csv(CURVE, ["held_out_cause", "n_train_entities", "layer", "k", "steps", "batch_size",
                      "n_held_out_entities"], agg=True, by="n_train_entities"), integers=True),
    *[Claim("book/learning_curve.md", row, Csv(CURVE, CURVE_COLUMNS, {"n_train_entities": n}, agg=True),
            integers=True)
      for n, row in [
          (10, "| 10 | 84 | 0 | 0.06 | [0.02, 0.12] | 0.07 |"), (10, "| 10 | 84 | 1 | 0.07 | [0.02, 0.13] | 0.07 |"),
          (20, "| 20 | 364 | 0 | 0.16 | [0.08, 0.25] | 0.17 |"), (20, "| 20 | 364 | 1 | 0.19 | [0.11, 0.28] | 0.17 |"),
          (40, "| 40 | 1528 | 0 | 0.37 | [0.25, 0.50] | 0.37 |"), (40, "| 40 | 1528 | 1 | 0.37 | [0.26, 0.50] | 0.37 |"),
          (80, "| 80 | 6202 | 0 | 0.42 | [0.31, 0.54] | 0.42 |"), (80, "| 80 | 6202 | 1 | 0.42 | [0.31, 0.54] | 0.42 |"),
          (223, "| 223 | 48402 | 0 | 0.55 | [0.43, 0.68] | 0.58 |"),
          (223, "| 223 | 48402 | 1 | 0.60 | [0.48, 0.72] | 0.58 |")]],
    Claim("book/learning_curve.md", "0.003 with 10 cities and 0.007-0.008 with 20", Csv(CURVE, ["loss_last_10"])),
    Claim("book/learning_curve.md", "(0.06 at 40, 0.22-0.40 at 80, 0.72-0.79 at 223)", Csv(CURVE, ["loss_last_10"])),
    Claim("book/learning_curve.md", "0.58 is below chapter 5's", Csv(CURVE, ["held_out_cause"], agg=True,
                                                                     by="n_train_entities")),
    Claim("book/learning_curve.md", "0.07 with 10 cities, 0.17 with 20, 0.37 with 40, 0.42 with 80 and 0.58 with "
          "all 223. Forty cities", Csv(CURVE, ["held_out_cause"], agg=True, by="n_train_entities")),
    Claim("book/learning_curve.md", "(0.25-0.50 at 40, 0.43-0.72 at 223, over both seeds)",
          Csv(CURVE, ["held_out_cause_lo", "held_out_cause_hi"], agg=True, by="n_train_entities")),
    Claim("book/learning_curve.md", "(their upper ends, 0.13 and 0.28, are under 223's lower end, 0.43)",
          Csv(CURVE, ["held_out_cause_lo", "held_out_cause_hi"], agg=True, by="n_train_entities")),
    Claim("book/learning_curve.md", "16 pairs per step and 100 steps", Csv(CURVE, ["batch_size", "steps"]),
          integers=True),
    Claim("book/learning_curve.md", "layer 16, k = 64, lr 3e-3,", Csv(CURVE, ["layer", "k"]), integers=True),
    Claim("book/learning_curve.md", "each size trains its two seeds in 77-96 s",
          Csv(CURVE, ["train_seconds_all_seeds"], agg=True), integers=True),
    Claim("book/learning_curve.md", "each size's training costs 77-96 s here",
          Csv(CURVE, ["train_seconds_all_seeds"], agg=True), integers=True),
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
    "07_multitask_das": {"0.8", "0.1"},         # MDAS's goal (>= 0.8, a target); Boundless's final temperature (a setting)
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
        return [float(v) for v in numbers((DATA / name).read_text(), decimals_only=False)]
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
