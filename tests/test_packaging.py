"""pyproject.toml: one version source, the licence file, URLs from _config.yml, a console script that exists."""
import importlib
import re
import tomllib
from pathlib import Path

import dascourse

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_is_read_from_the_package():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "dascourse.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", dascourse.__version__)


def test_licence_files_exist_and_urls_are_the_configured_repository():
    for name in PYPROJECT["project"]["license-files"]:
        assert (ROOT / name).is_file(), name
    url = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M).group(1)
    for name, link in PYPROJECT["project"]["urls"].items():
        assert link.startswith(url), f"{name} = {link} is not under _config.yml's repository {url}"


def test_console_script_is_the_cli_main():
    module, function = PYPROJECT["project"]["scripts"]["dascourse"].split(":")
    assert callable(getattr(importlib.import_module(module), function))
