"""Learner notebooks: every chapter with its exercises' solutions replaced by stubs (`make learner`).

The chapters in notebooks/ are the single source, with solutions. An exercise there is a markdown cell
headed "### Exercise N.M — title (...)", then ONE code cell tagged `hide-input` holding the solution
(the site shows it collapsed), then a cell calling the check. The learner version
notebooks/learner/<same name>.ipynb has every output cleared and each solution cell replaced by its stub:
the def line(s) and docstring of each function, a TODO, and `raise NotImplementedError`. So the solution's
docstring is what the learner reads: it says what the function returns and the shapes in and out, never the
solution's code or formula (tests/test_learner_stubs.py). Its markdown is turned from MyST into what
Jupyter, JupyterLab and Colab render as the site does: hints folded, citations linked (tools/learner_markdown.py).
First, each chapter's Colab line and setup cell are written from the repository setting in _config.yml
(tools/colab_cells.py), so that chapters and learner notebooks point at the same repository and release.
A repository tool, not part of the installed package: run it from the repository root.

    python -m tools.learner          # (re)write the chapters' Colab cells, then notebooks/learner/ (`make learner`)
    python -m tools.learner --check  # exit 1 and name the chapters and learner notebooks that are stale
"""
import ast
import re
import sys
from pathlib import Path

import nbformat

from tools.colab_cells import LEARNER_FOLDER, Course, with_colab_cells, write_colab_cells, write_notebook
from tools.learner_markdown import site_for, to_markdown

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "hide-input"
EXERCISE_HEADING = re.compile(r"^#+\s*Exercise\s+(\d+(?:\.\d+)*)", re.MULTILINE)
LEARNER_NOTE = ("*This is the learner version: each exercise's function is a stub for you to write. "
                "The full chapter, with solutions and outputs, is `notebooks/{name}` (and on the course site).*")


SENTENCE_END = re.compile(r"(?<=[\w)\]'])\.\s+(?=[A-Z])")  # not "i = 0 .. d-1", "e.g. x", "1.5"
TODO_WIDTH = 110


def what_to_return(node):
    """The TODO's "return ..." clause: the first sentence of the function's docstring (which says what it
    returns, and the shapes in and out), or a pointer to the exercise's text where the solution has none."""
    docstring = ast.get_docstring(node)
    if not docstring:
        return "write the body (the exercise above says what to return)"
    summary = SENTENCE_END.split(" ".join(docstring.split("\n\n")[0].split()))[0].rstrip(".")
    if re.match(r"[A-Z][a-z]*([\s-]|$)", summary):  # "Logits of ...", "Last-token", "A RotatedSubspace", not "IIA", "R_k"
        summary = summary[0].lower() + summary[1:]
    return f"return {summary}"


def todo_lines(exercise, node, indent):
    """The TODO comment, wrapped at TODO_WIDTH characters, then the two lines that say what to replace."""
    words, lines = f"TODO: Exercise {exercise} -- {what_to_return(node)}.".split(), []
    for word in words:
        if lines and len(indent) + 2 + len(lines[-1]) + 1 + len(word) <= TODO_WIDTH:
            lines[-1] += " " + word
        else:
            lines.append(word if not lines else "  " + word)
    return [f"{indent}# {line}" for line in lines]


def stub_function(lines, node, exercise):
    """The def line(s) and docstring of `node` (an ast FunctionDef in `lines`), then a TODO saying what to
    return, and a raise."""
    has_docstring = ast.get_docstring(node, clean=False) is not None
    body = node.body[1:] if has_docstring else node.body
    if body and lines[body[0].lineno - 1][:body[0].col_offset].strip():
        raise ValueError(f"Exercise {exercise}: put the body of {node.name}() on its own lines, below the "
                         f"def line and docstring, so that the stub can drop it.")
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    if has_docstring:
        keep = lines[start - 1:node.body[0].end_lineno]
    else:
        # The signature may span lines: keep up to the first statement, less comments (they are the solution's).
        keep = lines[start - 1:body[0].lineno - 1]
        while not keep[-1].strip() or keep[-1].strip().startswith("#"):
            keep.pop()
    indent = " " * node.body[0].col_offset
    return keep + todo_lines(exercise, node, indent) + [
                   f"{indent}# Replace these comments and the raise below with your code, then run the check.",
                   f'{indent}raise NotImplementedError("Exercise {exercise}: write {node.name}() first.")']


def stub(solution, exercise):
    """The learner's stub of a solution cell: imports kept, each function reduced by `stub_function`."""
    lines = solution.splitlines()
    nodes = ast.parse(solution).body
    if not any(isinstance(node, ast.FunctionDef) for node in nodes):
        raise ValueError(f"Exercise {exercise}: the solution cell defines no function; an exercise asks for one.")
    parts = []
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            parts.append(lines[node.lineno - 1:node.end_lineno])
        elif isinstance(node, ast.FunctionDef):
            parts.append(stub_function(lines, node, exercise))
        else:
            raise ValueError(f"Exercise {exercise}: the solution cell may hold only functions and imports, "
                             f"but line {node.lineno} is {lines[node.lineno - 1].strip()!r}. Move it to another cell.")
    return "\n\n\n".join("\n".join(part) for part in parts)


def exercise_cells(nb, name="notebook"):
    """{index of each solution cell: exercise number}: the code cell right after each exercise heading,
    which must be tagged `hide-input`."""
    found = {}
    for i, cell in enumerate(nb.cells):
        heading = EXERCISE_HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        if heading is None:
            continue
        after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        if after is None or after.cell_type != "code" or SOLUTION_TAG not in after.metadata.get("tags", []):
            raise ValueError(f"{name}: Exercise {heading[1]} must be followed by one code cell tagged "
                             f"{SOLUTION_TAG!r} holding the solution (cell metadata {{\"tags\": [\"{SOLUTION_TAG}\"]}}).")
        found[i + 1] = heading[1]
    return found


FIGURE_LINK = re.compile(r"\]\(\.\./book/figures/")


def learner_notebook(nb, name, course):
    """The learner version of chapter `nb` (file name `name`): outputs cleared, solutions stubbed, the
    markdown in the plain markdown and HTML that Jupyter and Colab render as the site does (hints folded,
    citations as author-year links: tools/learner_markdown.py), and the concept figures linked at `course`'s
    repository (Colab opens one notebook alone: a relative path to book/figures/ would show a broken image)."""
    learner = nbformat.from_dict(nb)
    site = site_for(course, ROOT, f"notebooks/{Path(name).stem}")
    for cell in learner.cells:
        if cell.cell_type == "markdown":
            try:
                cell.source = to_markdown(cell.source, site)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
            cell.source = FIGURE_LINK.sub(f"]({course.raw_url}/book/figures/", cell.source)
    solutions = exercise_cells(nb, name)
    for i, cell in enumerate(learner.cells):
        cell.metadata.pop("execution", None)  # timings of the full notebook's run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if i in solutions:
            cell.source = stub(cell.source, solutions[i])
            tags = [t for t in cell.metadata.pop("tags", []) if t != SOLUTION_TAG]
            if tags:
                cell.metadata["tags"] = tags
    learner.cells[0].source += "\n\n" + LEARNER_NOTE.format(name=name)
    return learner


def learner_path(chapter):
    return chapter.parent / LEARNER_FOLDER / chapter.name


def with_solutions(chapter):
    """The learner notebook of `chapter` with the chapter's solutions back in place of the stubs: what a
    learner who solved every exercise runs (tests/test_learner.py and `make colab-check` execute it)."""
    full, mine = nbformat.read(chapter, as_version=4), nbformat.read(learner_path(chapter), as_version=4)
    solutions = exercise_cells(full, chapter.name)
    for i in solutions:
        mine.cells[i].source = full.cells[i].source
    return mine, solutions


def run_with_solutions(chapter, setup_cell=None, timeout=900):
    """Execute `with_solutions(chapter)` top to bottom in a fresh kernel, in notebooks/learner/ (outputs not
    compared; cells tagged skip-execution skipped); a failing cell raises nbclient's CellExecutionError.
    Return {exercise: what its check cell printed} for every check that did not print "all checks passed".
    `setup_cell`, if given, rewrites the setup cell's source first (`make colab-check` installs a local wheel)."""
    nb, solutions = with_solutions(chapter)
    printed = _execute(chapter, nb, solutions, setup_cell, timeout)
    return {exercise: text for exercise, text in printed.items() if "all checks passed" not in text}


STUB_SKIPPED = "still a stub: exercise skipped"  # what @check prints (dascourse/checks/__init__.py)


def run_with_stubs(chapter, setup_cell=None, timeout=900):
    """Execute the learner notebook of `chapter` as a learner first opens it, every stub unfilled, top to
    bottom (as `run_with_solutions` does): every check must say its exercise was skipped, and the cells after
    it run on with dascourse's functions. Return {exercise: what its check cell printed} for every check
    that did not say so."""
    nb = nbformat.read(learner_path(chapter), as_version=4)
    solutions = exercise_cells(nbformat.read(chapter, as_version=4), chapter.name)
    printed = _execute(chapter, nb, solutions, setup_cell, timeout)
    return {exercise: text for exercise, text in printed.items() if STUB_SKIPPED not in text}


def _execute(chapter, nb, solutions, setup_cell, timeout):
    """Run `nb` (a learner notebook of `chapter`) in a fresh kernel; {exercise: what its check cell printed}."""
    from nbclient import NotebookClient  # only needed to run notebooks, not to write them

    if setup_cell:
        nb.cells[1].source = setup_cell(nb.cells[1].source)
    folder = learner_path(chapter).parent
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return {exercise: "".join(o.get("text", "") for o in nb.cells[i + 1].outputs) for i, exercise in solutions.items()}


def chapters(folder="notebooks"):
    found = sorted(Path(folder).glob("*.ipynb"))
    if not found:
        raise ValueError(f"No notebooks in {folder!r}: run this from the repository root, or pass the folder.")
    return found


def write_learner_notebooks(folder="notebooks", course=None):
    """Write notebooks/learner/<name> for every chapter in `folder`; return the paths written."""
    course = course or Course.from_config(Path(folder).resolve().parent)
    written = []
    for chapter in chapters(folder):
        path = learner_path(chapter)
        path.parent.mkdir(exist_ok=True)
        write_notebook(learner_notebook(nbformat.read(chapter, as_version=4), chapter.name, course), path)
        written.append(path)
    return written


def stale_notebooks(folder="notebooks", course=None):
    """The chapters whose Colab cells disagree with `course` (default: the setting in _config.yml beside
    `folder`), and the learner notebooks that are missing or differ from what `make learner` would write."""
    course = course or Course.from_config(Path(folder).resolve().parent)
    stale = []
    for chapter in chapters(folder):
        nb = nbformat.read(chapter, as_version=4)
        if with_colab_cells(nb, chapter.name, course):
            stale.append(chapter)
        path = learner_path(chapter)
        want = nbformat.writes(learner_notebook(nb, chapter.name, course))
        if not path.exists() or path.read_text(encoding="utf-8").rstrip("\n") != want.rstrip("\n"):
            stale.append(path)
    return stale


def main(argv):
    folder = next((a for a in argv if not a.startswith("-")), "notebooks")
    if "--check" in argv:
        stale = stale_notebooks(folder)
        for path in stale:
            print(f"stale: {path} (run `make learner`)")
        return 1 if stale else 0
    course = Course.from_config(Path(folder).resolve().parent)
    for path in write_colab_cells(chapters(folder), course):
        print(f"wrote the Colab cells of {path} (outputs untouched; re-execute it if the version it prints changed)")
    for path in write_learner_notebooks(folder, course):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
