"""One setting for where the course lives (_config.yml `repository:`): every badge, setup cell and link to
the course's repository agrees with it, and `make learner` moves them all when it changes."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from tools import learner
from tools.colab_cells import Course, write_colab_cells

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course.from_config(ROOT)
# Where the course's repository may be named: chapters, learner notebooks, book pages, README, CHANGELOG, config.
SCANNED = ["notebooks/*.ipynb", "notebooks/learner/*.ipynb", "book/*.md", "*.md", "_config.yml"]
URL_END = r"[^\s)\]\"'<>`\\]*"  # \\: in a notebook's JSON a quote is \"
COLAB_LINK = re.compile(rf"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([^/\s]+)/({URL_END})")
GITHUB_LINK = re.compile(rf"(?<![\w.])github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?:/(?:blob|tree)/([^/\s]+)/({URL_END}))?(?=[^\w.-]|$)")
RAW_LINK = re.compile(rf"raw\.githubusercontent\.com/([\w.-]+/[\w.-]+)/([^/\s]+)/({URL_END})")
INSTALL = re.compile(rf"dascourse(?:\[[\w,]*\])?\s*@\s*git\+({URL_END})")


def link_problems(text, course, root):
    """What in `text` names the course's repository but disagrees with `course`. A GitHub link is the
    course's when it names the course's repository name, or a file of this repository (blob/tree links);
    links to other projects pass. Colab links open this course's notebooks, and must exist in `root`."""
    problems = []
    for slug, branch, path in COLAB_LINK.findall(text):
        if (slug, branch) != (course.slug, course.branch) or not (root / path).is_file():
            problems.append(f"Colab link to {slug}@{branch}:{path}")
    for slug, branch, path in RAW_LINK.findall(text):  # the learner notebooks' figures
        if (slug, branch) != (course.slug, course.branch) or not (root / path).is_file():
            problems.append(f"raw file link to {slug}@{branch}:{path}")
    for owner, name, ref, path in GITHUB_LINK.findall(text):
        ours = name == course.slug.split("/")[1] or (path and (root / path).exists())
        if ours and (f"{owner}/{name}" != course.slug or (ref and ref not in (course.branch, course.release))):
            problems.append(f"GitHub link to {owner}/{name}" + (f" at {ref}" if ref else ""))
    for url in INSTALL.findall(text):
        if url != f"{course.url}@{course.release}":
            problems.append(f"install line git+{url}")
    return problems


def scanned_files(root):
    return sorted({path for pattern in SCANNED for path in root.glob(pattern)})


def test_every_badge_setup_cell_and_link_agrees_with_the_setting():
    problems = [f"{path.relative_to(ROOT)}: {problem}" for path in scanned_files(ROOT)
                for problem in link_problems(path.read_text(encoding="utf-8"), COURSE, ROOT)]
    assert not problems, "disagree with _config.yml `repository:` (run `make learner`):\n" + "\n".join(problems)


def test_link_check_catches_a_stale_repository_and_passes_other_projects():
    chapter = "notebooks/learner/00_setup_and_first_look.ipynb"
    assert not link_problems(f"{COURSE.colab_line(Path(chapter).name)}\n{COURSE.setup_cell()}\n"
                             "see https://github.com/stanfordnlp/pyvene/blob/main/pyvene/models/interventions.py",
                             COURSE, ROOT)
    stale = [f"https://colab.research.google.com/github/someone/else/blob/{COURSE.branch}/{chapter}",
             f"https://github.com/someone/{COURSE.slug.split('/')[1]}",
             f"https://github.com/someone/fork/blob/main/{chapter}",
             f"{COURSE.url}/blob/some-branch/{chapter}",
             f'"dascourse[pinned] @ git+{COURSE.url}"']
    assert [len(link_problems(text, COURSE, ROOT)) for text in stale] == [1] * len(stale)


def test_setup_cells_install_a_release_the_changelog_describes():
    assert re.fullmatch(r"v\d+\.\d+\.\d+", COURSE.release), f"release {COURSE.release!r} is not a tag like v0.2.0"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(COURSE.release[1:])}\]?", changelog, re.MULTILINE), \
        f"CHANGELOG.md has no '## {COURSE.release[1:]}' section for the release the setup cells install"


@pytest.fixture
def fork(tmp_path):
    """A copy of the chapters, learner notebooks and _config.yml, with the setting changed as a teacher's fork would."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("drafts", ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "book" / "figures", tmp_path / "book" / "figures")  # what the learner notebooks link
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["repository"] = {"url": "https://github.com/a-teacher/das-spring", "branch": "spring", "release": "v9.9.9"}
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


def test_changing_the_setting_and_make_learner_move_every_badge_and_install_line(fork):
    before = {path.name: nbformat.read(path, as_version=4) for path in learner.chapters(fork / "notebooks")}
    assert learner.main([str(fork / "notebooks")]) == 0
    course = Course.from_config(fork)
    notebooks = sorted(fork.glob("notebooks/**/*.ipynb"))
    for path in notebooks:
        text = path.read_text(encoding="utf-8")
        assert COURSE.slug not in text and COURSE.release not in text, f"{path.name} still names {COURSE.slug}"
        assert not link_problems(text, course, fork), path
        nb = nbformat.read(path, as_version=4)
        assert course.colab_line(path.name) in nb.cells[0].source and nb.cells[1].source == course.setup_cell()
    for name, old in before.items():  # only the two cells' sources and the setup cell's tags; no output
        new = nbformat.read(fork / "notebooks" / name, as_version=4)
        assert [c.get("outputs") for c in new.cells] == [c.get("outputs") for c in old.cells]
        assert new.cells[2:] == old.cells[2:]
    assert not learner.stale_notebooks(fork / "notebooks")
    assert write_colab_cells(learner.chapters(fork / "notebooks"), course) == []  # a second run changes nothing


def test_a_setting_without_a_release_names_the_fix(fork):
    (fork / "_config.yml").write_text("repository:\n  url: https://github.com/a/b\n  branch: main\n")
    with pytest.raises(ValueError, match="needs release"):
        Course.from_config(fork)


def test_colab_check_stub_is_imported_at_start_and_the_setup_cell_installs_the_wheel(tmp_path):
    from tools import colab_check

    env = {**os.environ, "PYTHONPATH": str(colab_check.colab_stub(tmp_path / "stub"))}
    probe = "import sys; print('google.colab' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout == "True\n"
    wheel = tmp_path / "dascourse-0.2.0-py3-none-any.whl"
    local = colab_check.local_install(COURSE, wheel)(COURSE.setup_cell())
    assert f'"dascourse[pinned] @ {wheel.as_uri()}"' in local and COURSE.url not in local
    with pytest.raises(SystemExit, match="make learner"):
        colab_check.local_install(COURSE, wheel)("print('an old setup cell')")
