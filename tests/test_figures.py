"""The concept figures (tools/figures.py -> book/figures/*.svg) and the chapters that show them agree.

- every figure the script draws is committed, with its alt text as the SVG's <title>;
- every figure a chapter links exists, and the chapter's alt text is the script's (one source of truth
  for what a screen reader says);
- every {cite} key used in a chapter or page is in references.bib.
Rendering itself (the image loads, on an opaque card, in light and dark) is checked in test_site.py.
"""
import glob
import re
import sys
from html import unescape
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from figures import FIGURES, OUT  # noqa: E402

FIGURE_LINK = re.compile(r"!\[([^\]]+)\]\(([^)]*book/figures/([\w-]+)\.svg)\)")
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def markdown_sources():
    """(name, markdown text) of every chapter and book page."""
    for path in sorted(glob.glob(str(ROOT / "notebooks" / "*.ipynb"))):
        cells = nbformat.read(path, as_version=4).cells
        yield Path(path).name, "\n".join(c.source for c in cells if c.cell_type == "markdown")
    for path in sorted((ROOT / "book").glob("*.md")):
        yield path.name, path.read_text()


@pytest.mark.parametrize("name", FIGURES)
def test_figure_committed_with_title(name):
    svg = OUT / f"{name}.svg"
    assert svg.is_file(), f"{svg} is missing: run `python tools/figures.py` and commit book/figures/"
    title = re.search(r"<title>(.*?)</title>", svg.read_text(), re.DOTALL)
    assert title and unescape(title[1]) == FIGURES[name][1], (
        f"{svg.name}: its <title> is not the alt text in tools/figures.py: run `python tools/figures.py`")


def test_chapters_link_figures_with_their_alt_text():
    linked = []
    for source, text in markdown_sources():
        for alt, link, name in FIGURE_LINK.findall(text):
            linked.append(name)
            assert name in FIGURES, f"{source} links {link}, which tools/figures.py does not draw"
            assert alt == FIGURES[name][1], f"{source}: the alt text of {name} differs from FIGURES[{name!r}] in tools/figures.py"
    assert linked, "No chapter links a concept figure"


def test_citations_are_in_the_bibliography():
    from pybtex.database import parse_file

    keys = set(parse_file(ROOT / "references.bib").entries)
    for source, text in markdown_sources():
        for cited in CITE.findall(text):
            for key in cited.split(","):
                assert key.strip() in keys, f"{source} cites {key.strip()!r}, which references.bib does not have"
