"""The chapters' MyST markdown as the plain markdown and HTML that Jupyter, JupyterLab and Colab render as
the site does (tools/learner.py applies it to every markdown cell of a learner notebook).

- ```` ```{dropdown} label ```` (hints, answers): a closed `<details><summary>label</summary>` block, with
  the blank lines that make Jupyter render the markdown inside it;
- admonitions (```` ```{note} ````, ```` ```{warning} ````, `:::{tip}` ...): a block quote headed by the
  admonition's title; `{math}` a $$ block; `{code-block}` a fenced code block; `{figure}`/`{image}` an image;
- `{cite:p}`key`` "(Author et al., 2024)" and `{cite:t}`key`` "Author et al. (2024)", each linked to the
  paper (references.bib: url, else doi, else arXiv id; else the site's References page);
- `{ref}`, `{doc}`, `{math}` and the other roles: plain text, links to the site, or $...$;
- `(label)=` targets and `%` comment lines dropped.
A directive or role with no rule here raises ValueError naming it (add a rule below rather than let raw
MyST reach a learner). Plain code fences and inline code are left as they are.
"""
import html
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important", "warning": "Warning",
               "caution": "Caution", "attention": "Attention", "danger": "Danger", "error": "Error",
               "seealso": "See also", "admonition": "", "margin": "", "sidebar": "", "epigraph": "",
               "topic": "", "pull-quote": ""}
FOLDED = {"dropdown", "toggle"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\{(?P<name>[\w:-]+)\}\s*(?P<argument>.*)$")
# A role, or an inline code span (left as it is): {name}`text`.
ROLE_OR_CODE = re.compile(r"(?P<role>\{[a-z][\w:*+-]*\})?(?P<ticks>`+)(?P<text>.+?)(?P=ticks)(?!`)", re.DOTALL)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


@dataclass
class Site:
    """Where links point: `url` the published site (GitHub Pages of the repository, `make publish`), `page`
    the converted document's path from the repository root without suffix (e.g. notebooks/01_x), and
    `papers` {bib key: (author-year names, year, link)}."""
    url: str
    page: str = "notebooks/chapter"
    papers: dict = field(default_factory=dict)

    @property
    def references(self):
        return f"{self.url}/book/references.html"

    def doc(self, target):
        """The site address of {doc}`target` (relative to this page's folder, or to the root if it starts with /)."""
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(posixpath.dirname(self.page), target))
        return f"{self.url}/{path.removesuffix('.md').removesuffix('.ipynb')}.html"


def site_for(course, root, page):
    """The Site of `course` (tools.colab_cells.Course): https://<owner>.github.io/<name>, the papers of
    root/references.bib."""
    owner, name = course.slug.split("/")
    return Site(f"https://{owner}.github.io/{name}", page, papers(Path(root) / "references.bib"))


def papers(bib):
    """{key: (names, year, link)} of the entries of `bib`: "Geiger et al." (three or more authors),
    "Geiger and Potts" (two), "Geiger" (one); the link is the url field, else the doi, else the arXiv page."""
    from pybtex.database import parse_file  # jupyter-book's dependency; only needed to write the notebooks

    found = {}
    for key, entry in parse_file(bib).entries.items():
        last = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in entry.persons.get("author", [])]
        names = last[0] + " et al." if len(last) > 2 else " and ".join(last)
        fields = entry.fields
        link = (fields.get("url") or (fields.get("doi") and f"https://doi.org/{fields['doi']}")
                or (fields.get("eprint") and f"https://arxiv.org/abs/{fields['eprint']}") or None)
        found[key] = (names, fields.get("year", "n.d."), link)
    return found


def to_markdown(text, site):
    """`text` (one markdown cell in MyST) as plain markdown and HTML (see the module's docstring)."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            end = _closing(lines, i, fence)
            directive = DIRECTIVE.match(fence["info"])
            body = [b.removeprefix(fence["indent"]) for b in lines[i + 1:end]]
            if directive:
                block = _directive(directive["name"], directive["argument"].strip(), body, site, fence["indent"])
                # One blank line on each side: Jupyter then starts and ends a markdown block there.
                out.extend(([""] if out and out[-1].strip() else []) + [block.strip("\n")]
                           + ([""] if end + 1 < len(lines) and lines[end + 1].strip() else []))
            else:  # a plain code fence: verbatim
                out.extend(lines[i:end + 1])
            i = end + 1
            continue
        if re.match(r"^\s*\([\w.:-]+\)=\s*$", line) or re.match(r"^%(\s|$)", line) or line.strip() == "+++":
            i += 1
            continue
        out.append(_inline(line, site))
        i += 1
    return "\n".join(out)


def _closing(lines, start, fence):
    """The index of the line closing the fence opened at `start` (the last line if it is never closed)."""
    char, length = fence["fence"][0], len(fence["fence"])
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped and set(stripped) == {char} and len(stripped) >= length:
            return j
    return len(lines) - 1


def _options(body):
    """({option: value}, the body without its leading :option: lines or --- YAML block)."""
    options = {}
    if body and body[0].strip() == "---":
        end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), 0)
        for line in body[1:end]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        body = body[end + 1:]
    while body and re.match(r"^:[\w-]+:", body[0]):
        key, _, value = body[0][1:].partition(":")
        options[key] = value.strip()
        body = body[1:]
    return options, body


def _block(lines):
    return "\n".join(lines).strip("\n")


def _directive(name, argument, body, site, indent=""):
    options, body = _options(body)
    content = to_markdown("\n".join(body), site).strip("\n")
    if name in FOLDED or (name in ADMONITIONS and "dropdown" in options.get("class", "")):
        label = argument or ADMONITIONS.get(name) or "Show"
        # The blank lines around `content` make Jupyter render the markdown inside the <details> block.
        return _indent(_block(["<details>", f"<summary>{_summary(label, site)}</summary>", "", content, "",
                               "</details>"]), indent)
    if name in ADMONITIONS:
        title = argument or ADMONITIONS[name]
        head = [f"**{_inline(title, site)}**", ""] if title else []
        return _indent(_block([f"> {line}".rstrip() for line in head + content.split("\n")]), indent)
    if name == "math":
        return _indent(_block(["$$", "\n".join(body).strip("\n"), "$$"]), indent)
    if name in ("code", "code-block", "code-cell", "sourcecode"):
        return _indent(_block([f"```{argument}", "\n".join(body).strip("\n"), "```"]), indent)
    if name in ("figure", "image"):
        alt = options.get("alt") or content or argument
        return _indent(_block([f"![{alt}]({argument})"] + (["", f"*{content}*"] if name == "figure" and content else [])), indent)
    if name == "bibliography":
        return _indent(_block([f"The papers are listed on the course site's [References page]({site.references})."]), indent)
    raise ValueError(f"MyST directive {{{name}}} has no plain-markdown form for the learner notebooks: add a "
                     f"rule for it in tools/learner_markdown.py (_directive), or use a dropdown or an admonition.")


def _indent(text, indent):
    return "\n".join(indent + line if line else line for line in text.split("\n"))


def _summary(label, site):
    """A dropdown's label as inline HTML (markdown is not rendered inside <summary>)."""
    text = html.escape(_inline(label, site), quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*", r"<i>\1</i>", text)


def _inline(line, site):
    return ROLE_OR_CODE.sub(lambda m: _role(m["role"][1:-1], m["text"], site) if m["role"] else m[0], line)


def _role(name, text, site):
    explicit = EXPLICIT.match(text)
    shown, target = (explicit["text"], explicit["target"]) if explicit else (None, text)
    if name.startswith("cite"):
        return _cite(name, [key.strip() for key in text.split(",")], site)
    if name in ("ref", "numref", "eq", "term", "abbr", "index", "dfn", "title-reference"):
        return shown or re.sub(r"\s*\(.*\)$", "", target) if name == "abbr" else shown or target
    if name == "doc":
        return f"[{shown or posixpath.basename(target)}]({site.doc(target)})"
    if name == "math":
        return f"${text}$"
    if name in ("sub", "sup", "kbd"):
        return f"<{name}>{html.escape(text, quote=False)}</{name}>"
    if name in ("code", "literal", "file", "samp", "command", "program"):
        return f"`{text}`"
    if name in ("emphasis",):
        return f"*{text}*"
    if name in ("strong",):
        return f"**{text}**"
    raise ValueError(f"MyST role {{{name}}} has no plain-markdown form for the learner notebooks: add a rule for "
                     f"it in tools/learner_markdown.py (_role).")


def _cite(name, keys, site):
    """{cite:p} "([Geiger et al., 2024](link); ...)", {cite:t} "[Geiger et al. (2024)](link)"; {cite} as {cite:p}."""
    missing = [key for key in keys if key not in site.papers]
    if missing:
        raise ValueError(f"Citation key(s) {missing} are not in references.bib: add the entry there.")
    textual = name.split(":")[-1].startswith("t") if ":" in name else False
    parts = []
    for key in keys:
        names, year, link = site.papers[key]
        label = f"{names} ({year})" if textual else f"{names}, {year}"
        parts.append(f"[{label}]({link or site.references})")
    return "; ".join(parts) if textual else "(" + "; ".join(parts) + ")"
