"""What a learner installs: the wheel, not this checkout.

Colab installs the course with a regular (not editable) `pip install`, so a subpackage, data file or
dependency the wheel leaves out is missing there while every editable install here still has it. This
test builds the wheel, installs it with its declared dependencies into a fresh environment outside the
repository and uses it from there.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]

# Runs inside the fresh environment, from a folder outside the repository.
USE_THE_WHEEL = r'''
import importlib, pkgutil, sys
import dascourse
assert dascourse.__file__.startswith(sys.prefix), f"dascourse imported from {dascourse.__file__}, not the wheel"
# __main__ modules run a command line when imported: what they import is imported here anyway.
modules = [m.name for m in pkgutil.walk_packages(dascourse.__path__, "dascourse.") if not m.name.endswith("__main__")]
for name in modules:
    importlib.import_module(name)  # a missing subpackage or undeclared dependency fails here
from dascourse.checks.training import check_split_by_city
from dascourse import split_by_city
check_split_by_city(lambda table, test_frac, seed: split_by_city(table, test_frac, seed)[:2])
cities = dascourse.load_cities()
assert len(cities) > 100, len(cities)
from importlib.resources import files
assert (files("dascourse") / "data" / "countries.csv").is_file(), "countries.csv is not in the wheel"
assert (files("dascourse") / "data" / "capstone" / "report.json").is_file(), "chapter 9's report is not in the wheel"
print(f"imported {len(modules)} modules; {len(cities)} cities")
'''


def run(*args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_the_wheel_has_every_module_and_data_file(tmp_path):
    run(sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", ROOT)
    wheel = next((tmp_path / "dist").glob("dascourse-*.whl"))
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    # Without PYTHONPATH: a checkout on it (and its dascourse.egg-info, which the build leaves) makes pip call
    # dascourse "already satisfied" and skip the wheel, and makes Python import the checkout instead.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The wheel's own dependency list decides what gets installed; requirements.txt only pins versions
    # (so that pip reuses the tested torch instead of downloading another).
    run(python, "-m", "pip", "install", "-q", f"{wheel}[pinned]", "-c", ROOT / "requirements.txt", env=env)
    out = run(python, "-c", USE_THE_WHEEL, cwd=tmp_path, env=env)
    assert "modules" in out
