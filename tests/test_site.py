"""The built site (`make book` -> _build/html), checked the way a reader meets it.

test_internal_links: every href and src of every built page that points inside the site (not
http(s), mailto, data: or javascript:, which need the network) names a file that exists, and its
#anchor an id on the page it names.

test_page_renders: headless Chromium opens the index and every page listed in _toc.yml, served from
http://localhost, and checks what the page must show. What "must" means is read from the page's
source, so a new chapter is checked as soon as it is in _toc.yml:
  - title: the page's h1 is the source's first "# " heading (every page);
  - plot: at least one image in the cell outputs has loaded (naturalWidth > 0), where the source
    notebook holds a PNG output (markdown pages and chapter 0's non-plot cells need none);
  - collapsed cells: each code cell tagged hide-input (every chapter's setup cell, and each exercise's
    solution) is a collapsed dropdown (closed <details>, code not displayed), and opening the first
    solution's shows its code, where the source has exercises (chapter 0 has none);
  - Colab link: a chapter's Colab badge comes with a text link, which reads as a link offline, where the
    badge image cannot load;
  - figures: every concept figure the source links in its markdown (![alt text](.../book/figures/NAME.svg),
    drawn by tools/figures.py) is on the page with that alt text and has loaded, and it is drawn on an
    opaque white card (the pixel read back inside its margin is white), so it stays readable when the
    page is switched to the dark theme;
  - references: the References page (book/references.md) lists every entry of references.bib, by title
    and link to its arXiv page;
  - progress bars: the cell outputs hold at most MAX_PROGRESS_LINES progress-bar lines (each training bar
    should leave one final line, dascourse/progress.py; tqdm in an executed notebook leaves one per update).
A screenshot of each page (and of its first opened solution, and of its first figure in the light and in
the dark theme) is saved in _build/screenshots/.

Without a built site, Chromium or selenium the tests skip and say how to get them; .ci/run sets
DASCOURSE_REQUIRE_BROWSER=1, which turns those skips into failures.
"""
import functools
import os
import re
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from tests.browser import chromium, unavailable
from tools import learner

ROOT = Path(__file__).resolve().parents[1]
# DASCOURSE_SITE: a site built elsewhere (jupyter-book build . --path-output DIR -> DIR/_build/html).
SITE = Path(os.environ.get("DASCOURSE_SITE", ROOT / "_build" / "html"))
SCREENSHOTS = SITE.parent / "screenshots"


def toc_pages():
    """The root page and every `file:` in _toc.yml, in reading order (e.g. "notebooks/05_training_das")."""
    def files(node):
        if isinstance(node, dict):
            yield from [node["file"]] if "file" in node else []
            for child in node.values():
                yield from files(child)
        elif isinstance(node, list):
            for child in node:
                yield from files(child)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *files(toc)]


def expectations(page):
    """(title, has_plot, collapsed, solutions) that the page built from `page` must show, read from its
    source: collapsed holds the source of every hide-input cell, solutions those of the exercises."""
    notebook = ROOT / f"{page}.ipynb"
    if notebook.exists():
        nb = nbformat.read(notebook, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        code = [c for c in nb.cells if c.cell_type == "code"]
        has_plot = any("image/png" in o.get("data", {}) for c in code for o in c.outputs)
        collapsed = [c.source for c in code if "hide-input" in c.metadata.get("tags", [])]
        solutions = [nb.cells[i].source for i in learner.exercise_cells(nb, notebook.name)]
    else:
        text, has_plot, collapsed, solutions = (ROOT / f"{page}.md").read_text(), False, [], []
    title = re.search(r"^# (.+)$", text, re.MULTILINE)
    assert title, f"{page}: its source has no '# Title' heading"
    return title[1].strip(), has_plot, collapsed, solutions


FIGURE_LINK = re.compile(r"!\[([^\]]+)\]\([^)]*book/figures/([\w-]+\.svg)\)")


def figures(page):
    """(file name, alt text) of each concept figure that the source of `page` links in its markdown."""
    notebook = ROOT / f"{page}.ipynb"
    if notebook.exists():
        text = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "markdown")
    else:
        text = (ROOT / f"{page}.md").read_text()
    return [(name, alt) for alt, name in FIGURE_LINK.findall(text)]


def bibliography():
    """(key, title, arXiv id or "") of each entry of references.bib."""
    from pybtex.database import parse_file

    entries = parse_file(ROOT / "references.bib").entries
    return [(key, entry.fields["title"], entry.fields.get("eprint", "")) for key, entry in entries.items()]


# A progress-bar line: tqdm's "37%|███▋ | 37/100" or dascourse.progress's live "[####----] 37/100 steps" or final
# "DAS layer 12, k=32: 100 steps".
PROGRESS_LINE = re.compile(r"\d+%\|.*\d+/\d+|\[[#-]+\] \d+/\d+ |: \d+ (steps|batches)\b")
MAX_PROGRESS_LINES = 5


def progress_lines(text):
    """The lines of `text` (a page's cell outputs) that are progress bars."""
    return [line for line in text.splitlines() if PROGRESS_LINE.search(line)]


def test_progress_lines_are_recognised():
    lines = ["DAS layer 12, k=256:  72%|███████▏  | 72/100 [01:30<00:27,  1.01it/s]",
             "DAS: [######--------------] 30/100 steps, 12 s, about 28 s left", "DAS layer 12, k=32: 100 steps",
             "IIA 0.984 on 2000 pairs", "country 37/100 (held out)"]
    assert progress_lines("\n".join(lines)) == lines[:3]


def _words(text):
    """Lower-case letters and digits only: titles compare equal whatever case, braces and dashes the style used."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


class _Links(HTMLParser):
    """The href/src values and the ids (anchors) of one HTML page."""

    def __init__(self, path):
        super().__init__()
        self.links, self.ids = [], set()
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            elif name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").exists():
        unavailable(f"No built site at {SITE}: run `make book` first.")
    return SITE


def test_internal_links(site):
    # _static/ holds the theme's Jinja templates, not pages (links pointing into it are checked).
    pages = {path: _Links(path) for path in site.rglob("*.html") if "_static" not in path.relative_to(site).parts}
    broken = []
    for page, parsed in pages.items():
        for link in parsed.links:
            url = urlsplit(link)
            if url.scheme or link.startswith("//"):  # http(s), mailto, data:, javascript:
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(site)}: {link}"
            if not target.is_file():
                broken.append(f"{where} (no file {target})")
            elif url.fragment and target in pages and url.fragment not in pages[target].ids:
                broken.append(f"{where} (no id {url.fragment!r} on that page)")
    assert len(pages) > 1, f"Only {len(pages)} page(s) found in {site}"
    assert not broken, "Broken internal links:\n" + "\n".join(broken)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the request log out of the test output
        pass


@pytest.fixture(scope="module")
def site_url(site):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


# The colour of the figure's own pixel 2% in from its left edge, half-way down: inside the white card that
# tools/figures.py draws, so it must be opaque white whatever the page's theme.
_CARD_PIXEL = """
const image = arguments[0], canvas = document.createElement("canvas");
canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
const context = canvas.getContext("2d");
context.drawImage(image, 0, 0);
return Array.from(context.getImageData(Math.round(0.02 * canvas.width), Math.round(canvas.height / 2), 1, 1).data);
"""


def _loaded(driver, image):
    driver.execute_script("arguments[0].scrollIntoView();", image)
    return driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0;", image)


@pytest.mark.parametrize("page", ["index", *toc_pages()])
def test_page_renders(page, site, site_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # index.html only redirects to the root page: check the page it lands on.
    source = toc_pages()[0] if page == "index" else page
    title, has_plot, collapsed, solutions = expectations(source)
    assert (site / f"{source}.html").is_file(), f"{source}.html is missing from {site}: run `make book` again."
    browser.get(site_url + page + ".html")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.current_url.endswith(source + ".html")
               and d.execute_script("return document.readyState") == "complete")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / page.replace("/", "__")
    browser.save_screenshot(f"{shot}.png")

    h1 = browser.find_element(By.CSS_SELECTOR, "article h1")
    assert h1.is_displayed() and h1.text.removesuffix("#").strip() == title, f"{page}: h1 {h1.text!r}, want {title!r}"

    if has_plot:
        images = browser.find_elements(By.CSS_SELECTOR, "article .cell_output img")
        assert any(_loaded(browser, img) for img in images), f"{page}: no plot image loaded ({len(images)} in outputs)"

    for number, (name, alt) in enumerate(figures(source)):
        shown = [img for img in browser.find_elements(By.CSS_SELECTOR, "article img")
                 if img.get_attribute("alt") == alt]
        assert shown, f"{page}: figure {name} (alt {alt[:40]!r}...) is not on the page"
        image = shown[0]
        assert image.get_attribute("src").endswith(".svg"), f"{page}: figure {name} shows {image.get_attribute('src')}"
        assert _loaded(browser, image), f"{page}: figure {name} did not load"
        red, green, blue, alpha = browser.execute_script(_CARD_PIXEL, image)
        assert alpha == 255 and min(red, green, blue) >= 240, (
            f"{page}: figure {name} is not on an opaque white card (pixel {red, green, blue, alpha}); a transparent "
            f"figure is unreadable in the dark theme: draw it with tools/figures.py's card()")
        if number == 0:
            browser.save_screenshot(f"{shot}__figure.png")
            browser.execute_script("document.documentElement.dataset.theme = 'dark';")
            browser.save_screenshot(f"{shot}__figure_dark.png")
            browser.execute_script("document.documentElement.dataset.theme = 'light';")

    if source == "book/references":
        listed = browser.find_element(By.CSS_SELECTOR, "article").text
        links = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "article a")}
        for key, title, arxiv in bibliography():
            assert _words(title.replace("{", "").replace("}", "")) in _words(listed), f"References: {key} ({title}) is not listed"
            assert not arxiv or any(link and link.endswith(arxiv) for link in links), f"References: {key} has no link to arXiv {arxiv}"

    if (ROOT / f"{source}.ipynb").exists():
        colab = browser.find_elements(By.CSS_SELECTOR, "article a[href^='https://colab.research.google.com/github/']")
        assert any(link.text.strip() for link in colab), f"{page}: no Colab link with text (only {len(colab)} badges)"

    outputs = browser.execute_script(
        "return Array.from(document.querySelectorAll('article .cell_output')).map(e => e.textContent).join('\\n');")
    bars = progress_lines(outputs)
    assert len(bars) <= MAX_PROGRESS_LINES, (
        f"{page}: {len(bars)} progress-bar lines in the cell outputs (at most {MAX_PROGRESS_LINES}), e.g. {bars[:2]}: "
        f"show progress with dascourse.progress.progress_bar (one final line), not tqdm, and re-execute the chapter")

    dropdowns = browser.find_elements(By.CSS_SELECTOR, "article .tag_hide-input details")
    assert len(dropdowns) == len(collapsed), f"{page}: {len(dropdowns)} collapsed cells, want {len(collapsed)}"
    for dropdown in dropdowns:
        code = dropdown.find_element(By.CSS_SELECTOR, ".cell_input pre")
        assert dropdown.get_attribute("open") is None and not code.is_displayed(), f"{page}: a cell is not collapsed"
    if solutions:
        first = dropdowns[collapsed.index(solutions[0])]
        browser.execute_script("arguments[0].scrollIntoView();", first)
        first.find_element(By.TAG_NAME, "summary").click()
        code = first.find_element(By.CSS_SELECTOR, ".cell_input pre")
        wait.until(lambda d: code.is_displayed())
        first_line = solutions[0].strip().splitlines()[0].strip()
        assert first_line in code.text, f"{page}: the opened solution shows {code.text[:80]!r}, want {first_line!r}"
        browser.save_screenshot(f"{shot}__solution.png")
