"""The learner notebooks as Jupyter, JupyterLab and Colab show them: their markdown (tools/learner_markdown.py)
rendered by nbconvert's HTML exporter (`jupyter nbconvert --to html`, Jupyter's own markdown renderer) holds
no MyST syntax, and every hint and answer (a `{dropdown}` in the chapter) is a closed <details> block whose
text appears nowhere outside it. A headless-Chromium test opens one rendered learner notebook: a hint is
hidden until its summary is clicked (screenshots of both states in _build/screenshots/).
"""
import re
from pathlib import Path

import nbformat
import pytest

from tests.browser import chromium
from tools import learner
from tools.learner_markdown import Site, to_markdown

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = learner.chapters(ROOT / "notebooks")
SITE = Site("https://example.github.io/course", "notebooks/01_x",
            {"geiger2024das": ("Geiger et al.", "2024", "https://arxiv.org/abs/2303.02536"),
             "wu2024reply": ("Wu et al.", "2024", None)})
# What MyST leaves behind when nothing converts it.
MYST_LEFTOVERS = re.compile(r"\{dropdown\}|\{cite|```\{|:::|\{ref\}|\{doc\}|\{numref\}|\{math\}|\{eq\}|\{term\}")
DROPDOWN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{dropdown\}[ \t]*(?P<label>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                      re.MULTILINE | re.DOTALL)


def words(text):
    """Letters and digits only: compares markdown with the text of its HTML, whatever the markup."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


# ---- the converter ----------------------------------------------------------------------------------------

def test_dropdown_becomes_a_closed_details_block_that_renders_its_markdown():
    text = "Question?\n```{dropdown} Hint 1: the `shape`\nUse `x @ R.T`, *not* `R @ x`.\n```\nAfter."
    assert to_markdown(text, SITE) == ("Question?\n\n<details>\n<summary>Hint 1: the <code>shape</code></summary>\n\n"
                                       "Use `x @ R.T`, *not* `R @ x`.\n\n</details>\n\nAfter.")


def test_nested_directives_admonitions_and_colon_fences():
    text = "::::{note}\nRead this.\n:::{dropdown} Answer\n:open:\n$x$\n:::\n::::"
    assert to_markdown(text, SITE) == ("> **Note**\n>\n> Read this.\n>\n> <details>\n> <summary>Answer</summary>\n>\n"
                                       "> $x$\n>\n> </details>")
    assert to_markdown("```{warning}\nCareful.\n```", SITE) == "> **Warning**\n>\n> Careful."
    assert to_markdown("```{admonition} Go further\nTry k = 8.\n```", SITE) == "> **Go further**\n>\n> Try k = 8."


def test_citations_become_author_year_links():
    assert to_markdown("DAS {cite:p}`geiger2024das`.", SITE) == \
        "DAS ([Geiger et al., 2024](https://arxiv.org/abs/2303.02536))."
    assert to_markdown("{cite:t}`geiger2024das,wu2024reply` say", SITE) == (
        "[Geiger et al. (2024)](https://arxiv.org/abs/2303.02536); "
        "[Wu et al. (2024)](https://example.github.io/course/book/references.html) say")
    with pytest.raises(ValueError, match="not in references.bib"):
        to_markdown("{cite:p}`nobody2020`", SITE)


def test_other_roles_targets_and_code_left_alone():
    text = ("(sec-a)=\n% a comment\nSee {ref}`the split <sec-a>`, {doc}`../book/settings` and {math}`R_k`.\n"
            "Code `{cite:p}` stays, and so does\n```python\nx = {ref}\n```")
    assert to_markdown(text, SITE) == (
        "See the split, [settings](https://example.github.io/course/book/settings.html) and $R_k$.\n"
        "Code `{cite:p}` stays, and so does\n```python\nx = {ref}\n```")


def test_unknown_directive_or_role_names_the_fix():
    with pytest.raises(ValueError, match=r"\{tab-set\}.*tools/learner_markdown.py"):
        to_markdown("```{tab-set}\nx\n```", SITE)
    with pytest.raises(ValueError, match=r"\{prf:ref\}.*tools/learner_markdown.py"):
        to_markdown("{prf:ref}`x`", SITE)


# ---- every learner notebook, rendered by nbconvert ---------------------------------------------------------

def rendered(path):
    """(the HTML text of each markdown cell, the parsed page) of learner notebook `path` rendered by
    nbconvert's HTML exporter."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
    page = BeautifulSoup(body, "html.parser")
    return page.select(".jp-MarkdownCell"), page


def folded(chapter):
    """(label, body) of each dropdown in the chapter's MyST markdown: what must be folded in its learner notebook."""
    text = "\n\n".join(c.source for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "markdown")
    return [(m["label"].strip(), m["body"]) for m in DROPDOWN.finditer(text)]


def telling_line(body):
    """The longest line of a hint's markdown without roles or math (which the conversion rewrites), less the
    addresses of its links."""
    lines = [re.sub(r"\]\([^)]*\)", "]", line) for line in body.splitlines()
             if not re.search(r"[{}$]|^\s*[`:]{3}|^:", line)]
    return max(lines, key=len, default="")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_learner_notebook_renders_without_myst_and_with_every_hint_folded(chapter):
    cells, page = rendered(learner.learner_path(chapter))
    assert cells, "nbconvert rendered no markdown cell: has its HTML template changed (.jp-MarkdownCell)?"
    leftovers = [m.group(0) for cell in cells for m in MYST_LEFTOVERS.finditer(cell.get_text())]
    assert not leftovers, f"MyST syntax left in the rendered learner notebook: {leftovers} (tools/learner_markdown.py)"
    opened = page.select("details[open]")
    assert not opened, f"hints or answers open by default: {[d.summary.get_text() for d in opened]}"

    details = page.select(".jp-MarkdownCell details")
    hints = folded(chapter)
    assert [d.summary.get_text(" ", strip=True) if d.summary else None for d in details] == \
        [words_kept(label) for label, _ in hints], "each dropdown must become one <details> with its label as summary"
    inside = words(" ".join(d.get_text(" ") for d in details))
    for d in details:
        d.extract()
    outside = words(" ".join(cell.get_text(" ") for cell in cells))
    for label, body in hints:
        line = words(telling_line(body))
        assert line, f"hint {label!r} has no plain line to look for"
        assert line in inside, f"hint {label!r}: its text is not inside a <details> block"
        assert line not in outside, f"hint {label!r}: its text is shown outside a folded <details> block"


def words_kept(label):
    """A dropdown label as the rendered summary shows it: markdown's backticks and stars gone."""
    return re.sub(r"\s+", " ", label.replace("`", "").replace("*", "")).strip()


def test_the_render_check_catches_an_open_hint(tmp_path):
    """The check above can fail: the chapter's own MyST, rendered by Jupyter, shows its hints unfolded."""
    chapter = CHAPTERS[1]
    cells, page = rendered(chapter)
    assert any(MYST_LEFTOVERS.search(cell.get_text()) for cell in cells)
    assert not page.select("details")


# ---- a browser shows the hint only when asked ----------------------------------------------------------------

def test_a_hint_is_hidden_until_its_summary_is_clicked(tmp_path):
    from nbconvert import HTMLExporter
    from selenium.webdriver.common.by import By

    # The first exercise hint of the course (the go-further cells' "Where to start" boxes come before it).
    chapter, number = next((c, n) for c in CHAPTERS for n, (label, _) in enumerate(folded(c)) if label.startswith("Hint"))
    label, body = folded(chapter)[number]
    page = tmp_path / f"{chapter.stem}.html"
    page.write_text(HTMLExporter().from_notebook_node(nbformat.read(learner.learner_path(chapter), as_version=4))[0],
                    encoding="utf-8")
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path / "chromium-profile") as browser:
        browser.get(page.as_uri())
        details = browser.find_elements(By.CSS_SELECTOR, ".jp-MarkdownCell details")[number]
        summary = details.find_element(By.TAG_NAME, "summary")
        assert summary.text.strip() == words_kept(label)
        hint = details.find_element(By.CSS_SELECTOR, "p")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
        assert not hint.is_displayed() and words(telling_line(body)) not in words(browser.find_element(
            By.TAG_NAME, "body").text), f"{chapter.name}: hint {label!r} is visible before its summary is clicked"
        browser.save_screenshot(str(shots / "learner_hint_closed.png"))
        summary.click()
        assert hint.is_displayed() and words(telling_line(body)) in words(hint.text), \
            f"{chapter.name}: hint {label!r} did not open when its summary was clicked"
        browser.save_screenshot(str(shots / "learner_hint_open.png"))
