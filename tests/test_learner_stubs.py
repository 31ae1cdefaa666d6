"""The learner notebooks' stubs (tools/learner.py), proved without executing the notebooks:

- each stub's text (its docstring and TODO) gives away no line, formula or identifier sequence of its
  solution's body: it says what to compute and the shapes in and out;
- every code cell of a learner notebook is the chapter's cell, except the stubs (whose def line is the
  solution's); nbval runs the chapters' cells, so the learner notebooks' cells are known to run;
- each stub runs as a skipped check: the stub cell executed, then the check cell after it called with the
  stub (the model where the check asks for it), prints that the exercise was skipped; and no later cell
  calls the stub except through `yours_or_library`, which falls back to dascourse's function.

The full run, every learner notebook executed top to bottom with every stub unfilled (about 9 minutes, as
slow as the chapters: a stub changes which function runs, not how much runs), is marked `learner_run`: `make
colab-check` runs it (`pytest -m learner_run`), `make test` does not.
"""
import ast
import contextlib
import io
import json
import re
from pathlib import Path

import nbformat
import pytest

from dascourse.checks import check
from tools import learner
from tools.learner import STUB_SKIPPED

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = learner.chapters(ROOT / "notebooks")
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?|\*\*|==|!=|<=|>=|\S")
OPERATORS = {"+", "-", "*", "/", "@", "**", "==", "%"}
LONGEST_SHARED = 5  # tokens: "(h_source - h_base)" alone is the course's notation, "* (h_source - h_base)" code


def read(path):
    return nbformat.read(path, as_version=4)


def exercises():
    """(chapter, solution cell index, exercise) of every exercise of every chapter."""
    return [(chapter, i, exercise) for chapter in CHAPTERS
            for i, exercise in learner.exercise_cells(read(chapter), chapter.name).items()]


EXERCISES = exercises()


def stub_text(stub):
    """The docstrings and comments of a stub cell: what the learner reads there."""
    tree = ast.parse(stub)
    docs = [ast.get_docstring(n) or "" for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    comments = [line.strip().lstrip("#").strip() for line in stub.splitlines() if line.strip().startswith("#")]
    return docs + comments


def solution_body(solution):
    """The stripped code lines of every function body in a solution cell, docstrings left out."""
    lines, body = solution.splitlines(), []
    for node in ast.parse(solution).body:
        if isinstance(node, ast.FunctionDef):
            statements = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
            body += [line.strip() for line in lines[statements[0].lineno - 1:node.end_lineno] if line.strip()]
    return body


def copied(stub, solution):
    """What `stub`'s text copies from `solution`'s body: whole lines, and runs of at least LONGEST_SHARED
    tokens with an operator in them (a formula or a call the learner could paste)."""
    text, body = stub_text(stub), solution_body(solution)
    found = [line for line in body if any(line in t for t in text) and len(line) > 8]
    code = [TOKEN.findall(line) for line in body]
    for t in text:
        words = TOKEN.findall(t)
        for line in code:
            for start in range(len(words)):
                for end in range(start + LONGEST_SHARED, len(words) + 1):
                    run = words[start:end]
                    if not OPERATORS & set(run) or not any(line[j:j + len(run)] == run for j in range(len(line))):
                        break
                    if end == len(words) or not any(line[j:j + len(run) + 1] == words[start:end + 1]
                                                    for j in range(len(line))):
                        found.append(" ".join(run))
    return found


def test_copied_finds_a_formula_from_the_solution():
    solution = ('def mask_swap(h_base, h_source, logits, temperature):\n    """Soft swap."""\n'
                '    m = torch.sigmoid(logits / temperature)\n    return h_base + m * (h_source - h_base)\n')
    leaky = learner.stub(solution.replace('"""Soft swap."""',
                                          '"""h\' = h_base + sigmoid(logits / temperature) * (h_source - h_base)."""'),
                         "9.1")
    assert "sigmoid ( logits / temperature )" in copied(leaky, solution)
    assert "* ( h_source - h_base )" in copied(leaky, solution)
    line = learner.stub(solution.replace('"""Soft swap."""', '"""Returns h_base + m * (h_source - h_base)."""'), "9.1")
    assert "return h_base + m * (h_source - h_base)" not in copied(line, solution)  # "return" is not in the text
    assert "h_base + m * ( h_source - h_base )" in copied(line, solution)
    fine = learner.stub(solution.replace('"""Soft swap."""', '"""h\' [N, d]: the soft swap of h_base and h_source '
                                         '(h_source - h_base moved by the mask)."""'), "9.1")
    assert copied(fine, solution) == []


@pytest.mark.parametrize("chapter, i, exercise", EXERCISES, ids=[e for _, _, e in EXERCISES])
def test_stub_says_what_to_compute_not_the_solution(chapter, i, exercise):
    solution = read(chapter).cells[i].source
    stub = read(learner.learner_path(chapter)).cells[i].source
    leaks = copied(stub, solution)
    assert not leaks, (f"Exercise {exercise}: the stub's docstring or TODO gives the solution away: {leaks}. Reword "
                       f"the solution's docstring in {chapter.name} to say what it returns and the shapes in and "
                       f"out, not how, then `make learner`.")
    todo = " ".join(line.strip().lstrip("#").strip() for line in stub.splitlines()[:-2] if line.strip().startswith("#"))
    clause = todo.split(" -- ", 1)[1].removeprefix("return ").rstrip(".")
    node = next(n for n in ast.parse(solution).body if isinstance(n, ast.FunctionDef))
    doc = " ".join((ast.get_docstring(node) or "").split("\n\n")[0].split())
    rest = doc[len(clause):]
    assert doc[:len(clause)].lower() == clause.lower() and (rest in ("", ".") or re.match(r"\.\s+[A-Z]", rest)), (
        f"Exercise {exercise}: the TODO stops mid-sentence: {todo!r}")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_learner_code_cells_are_the_chapters_but_the_stubs(chapter):
    full, mine = read(chapter), read(learner.learner_path(chapter))
    solutions = learner.exercise_cells(full, chapter.name)
    assert [c.cell_type for c in mine.cells] == [c.cell_type for c in full.cells]
    for i, (a, b) in enumerate(zip(full.cells, mine.cells)):
        if a.cell_type != "code":
            continue
        if i in solutions:
            assert "raise NotImplementedError" in b.source, f"cell {i}: Exercise {solutions[i]} is not a stub"
            assert b.source.split('"""')[0] == a.source.split('"""')[0], f"cell {i}: the stub's def line differs"
        else:
            assert b.source == a.source, f"cell {i} differs from the chapter's: run `make learner`"


# ---- each stub runs as a skipped check -------------------------------------------------------------------------

def parse(source):
    """The AST of a code cell, its IPython magics (%matplotlib inline) turned into Python first."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(source))


def imports_before(nb, i):
    """A namespace with every top-level import of the code cells before cell i executed."""
    namespace = {}
    for cell in nb.cells[2:i]:  # cell 1 is the setup cell (installs the course in Colab)
        if cell.cell_type == "code":
            tree = parse(cell.source)
            nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
            exec(compile(ast.Module(body=nodes, type_ignores=[]), f"cell {i}", "exec"), namespace)
    return namespace


CHECK_WRAPPER = check(lambda fn: None).__code__  # the code of @check's wrapper, shared by every check_*


def is_check(fn):
    return getattr(fn, "__code__", None) is CHECK_WRAPPER


def test_check_reports_a_stub_as_skipped_and_a_wrong_function_as_failed():
    @check
    def check_double(fn):
        assert fn(2) == 4, "wrong"
        print("passed")

    def stub(x):
        raise NotImplementedError("write it")

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        check_double(stub)
        check_double(lambda x: 2 * x)
    assert STUB_SKIPPED in printed.getvalue() and "passed" in printed.getvalue()
    with pytest.raises(AssertionError, match="wrong"):
        check_double(lambda x: x)
    assert is_check(check_double) and not is_check(print)


def stub_call(nb, i, exercise):
    """(check function, stub, the check cell's other arguments' names and its keywords) of exercise at cell i."""
    namespace = imports_before(nb, i)
    exec(nb.cells[i].source, namespace)
    stubs = [n.name for n in ast.parse(nb.cells[i].source).body if isinstance(n, ast.FunctionDef)]
    tree = ast.parse(nb.cells[i + 1].source).body
    assert len(tree) == 1 and isinstance(tree[0], ast.Expr) and isinstance(tree[0].value, ast.Call), (
        f"Exercise {exercise}: the cell after the solution must be one call of its check, check_...(function, ...)")
    call = tree[0].value
    fn = namespace.get(getattr(call.func, "id", None))
    assert is_check(fn), f"Exercise {exercise}: {ast.unparse(call.func)} is not a check wrapped in @check"
    first = call.args[0] if call.args else None
    assert isinstance(first, ast.Name) and first.id in stubs, (
        f"Exercise {exercise}: the check's first argument must be the exercise's function {stubs}")
    assert all(isinstance(a, ast.Name) for a in call.args[1:]), f"Exercise {exercise}: pass names to the check"
    return fn, namespace[first.id], [a.id for a in call.args[1:]], \
        {k.arg: ast.literal_eval(k.value) for k in call.keywords}


@pytest.mark.parametrize("chapter, i, exercise", EXERCISES, ids=[e for _, _, e in EXERCISES])
def test_stub_runs_as_a_skipped_check(chapter, i, exercise, request):
    nb = read(learner.learner_path(chapter))
    check_fn, stub, others, keywords = stub_call(nb, i, exercise)
    known = {"model": lambda: request.getfixturevalue("model"),
             "report": lambda: json.loads((ROOT / "dascourse" / "data" / "capstone" / "report.json").read_text())}
    missing = [name for name in others if name not in known]
    assert not missing, f"Exercise {exercise}: the check cell passes {missing}; give this test a way to make them"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        check_fn(stub, *[known[name]() for name in others], **keywords)
    assert STUB_SKIPPED in printed.getvalue(), f"Exercise {exercise}: the check printed {printed.getvalue()!r}"

    uses = direct_uses(nb, i + 2, stub.__name__)
    assert not uses, (f"Exercise {exercise}: cells {uses} use {stub.__name__}() directly, which fails while it is a "
                      f"stub: use yours_or_library({stub.__name__}, dascourse's function)")


def direct_uses(nb, start, name):
    """The code cells from `start` on that use `name` other than as yours_or_library's first argument."""
    found = []
    for j, cell in enumerate(nb.cells[start:], start=start):
        if cell.cell_type != "code":
            continue
        tree = parse(cell.source)
        wrapped = {id(c.args[0]) for c in ast.walk(tree) if isinstance(c, ast.Call)
                   and getattr(c.func, "id", None) == "yours_or_library" and c.args}
        if any(isinstance(n, ast.Name) and n.id == name and id(n) not in wrapped for n in ast.walk(tree)):
            found.append(j)
    return found


def test_direct_uses_finds_a_stub_called_without_fallback():
    cells = [nbformat.v4.new_code_cell(source) for source in (
        "f = yours_or_library(iia, das.iia)\nprint(f(x, y))", "%matplotlib inline\nprint(iia(x, y))", "iia_2 = 3")]
    assert direct_uses(nbformat.v4.new_notebook(cells=cells), 0, "iia") == [1]


# ---- the full run (make colab-check) ---------------------------------------------------------------------------

@pytest.mark.learner_run
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_learner_notebook_runs_with_every_stub_unfilled(chapter):
    not_skipped = learner.run_with_stubs(chapter)
    assert not not_skipped, (f"checks that did not report their stub as skipped ({STUB_SKIPPED!r}), with what "
                             f"they printed: {not_skipped}")
