"""`make publish`, tried against a local bare repository: its gh-pages branch must hold the site's
index.html, .nojekyll (without it GitHub Pages' Jekyll drops _static/) and every page of _toc.yml.

It publishes the built site (`make book` -> _build/html, or DASCOURSE_SITE) when there is one; otherwise a
stand-in site with one empty page per _toc.yml entry, which still tests the command and the branch."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_site import SITE, toc_pages

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("ghp_import", reason="ghp-import is not installed: `make setup` (requirements.txt)")


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def stand_in_site(folder):
    for page in ["index", "_static/styles", *toc_pages()]:
        (folder / f"{page}.html").parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{page}.html").write_text(f"<title>{page}</title>\n")
    return folder


def test_make_publish_puts_the_site_on_gh_pages_of_the_remote(tmp_path):
    site = SITE if (SITE / "index.html").is_file() else stand_in_site(tmp_path / "stand-in")
    remote, checkout = tmp_path / "remote.git", tmp_path / "checkout"
    git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    # A checkout of its own (never this repository's: ghp-import writes a local gh-pages branch) whose
    # _build/html is the site.
    git("init", "-q", str(checkout), cwd=tmp_path)
    (checkout / "_build").mkdir()
    (checkout / "_build" / "html").symlink_to(site.resolve(), target_is_directory=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org"}
    for _ in range(2):  # the second run publishes on top of the first
        subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "publish", f"REMOTE={remote}",
                        f"PYTHON={sys.executable}"], cwd=checkout, env=env, check=True)
    published = set(git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).splitlines())
    missing = [f for f in ["index.html", ".nojekyll", *(f"{page}.html" for page in toc_pages())] if f not in published]
    assert not missing, f"gh-pages of {remote} lacks {missing}"
    assert {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()} <= published
    assert len(git("rev-list", "gh-pages", cwd=remote).split()) == 2
