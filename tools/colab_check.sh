#!/usr/bin/env bash
# `make colab-check`: before each release, the course as Colab meets it (issue 19). Colab upgrades torch
# and Python under the course; this tries the newest torch the package index offers on Python 3.12.
#   1. a fresh Python 3.12 virtual environment (PYTHON312, default python3.12) in a temporary folder
#      (COLAB_CHECK_DIR to keep it), with what Colab brings: the newest torch and Jupyter's kernel;
#   2. a wheel built from this checkout, which tools/colab_check.py installs through the setup cell and
#      then runs every learner notebook with (see there).
# It downloads torch with its CUDA libraries (about 5 GB) and runs every chapter on the CPU: 15-30 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
python312=${PYTHON312:-python3.12}
work=${COLAB_CHECK_DIR:-}
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
SECONDS=0
"$python312" -m venv "$work/venv"
py="$work/venv/bin/python"
# No pin on torch: Colab brings its own, newer than requirements.txt's.
"$py" -m pip install -q --disable-pip-version-check torch ipykernel nbclient nbformat pyyaml
# A kept COLAB_CHECK_DIR may hold an earlier build of the same version, which pip would keep: Colab starts
# without the course, so remove it.
"$py" -m pip uninstall -y -q dascourse 2>/dev/null || true
echo "colab-check: fresh $("$py" --version) with torch and Jupyter (${SECONDS} s)"
rm -rf "$work/dist"
"$py" -m pip wheel -q --disable-pip-version-check --no-deps -w "$work/dist" .
wheel=$(ls "$work"/dist/dascourse-*.whl)
echo "colab-check: built $(basename "$wheel") (${SECONDS} s)"
status=0
"$py" tools/colab_check.py "$work" "$wheel" || status=$?
echo "colab-check: total ${SECONDS} s"
exit $status
