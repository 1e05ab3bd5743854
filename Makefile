# Every target creates and uses .venv itself; CI runs `make test` (via .ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install test lint unit book lab e2e bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,book,lab,models,lightning,huggingface]"
	touch $@

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)
	$(BIN)/pytest

test: lint unit

# The book: executed with the jupyter-cache locally, forced when CI is set (CI=true);
# -W fails the build on any warning. Output: _build/html. Sphinx does not repeat an unchanged
# page's warnings, so a failed build deletes its environment: the next build re-reads every
# page (executed cells still come from the cache) and fails again until the cause is fixed.
# GRADWIDGETS_BAKE=1 makes each explorer also bake its static face (text/html) as it executes;
# each setting's results go to a file in GRADWIDGETS_SHARDS, named by the setting and the code
# that computes it (a rebuild computes only new names), and the pages load them on demand.
# tools/stale_outputs.py forgets the executed outputs when gradwidgets/ changed since the last
# build (jupyter-cache keys on the chapters' code alone).
# One torch thread per kernel: the course's small models run faster so on 2 cores.
BOOK_BUILD := GRADWIDGETS_BAKE=1 GRADWIDGETS_SHARDS=$(CURDIR)/_build/baked OMP_NUM_THREADS=1 $(BIN)/jupyter-book build . --builder html -W -n --keep-going
BOOK_ENV := _build/.doctrees/environment.pickle
CI_BOOK_CONFIG := _build/_config.ci.yml

book: $(STAMP)
	$(BIN)/python tools/stale_outputs.py _build
	$(BIN)/python tools/copy_bokehjs.py
ifneq ($(filter true 1 yes,$(CI)),)
	$(BIN)/python tools/force_execution_config.py $(CI_BOOK_CONFIG)
	$(BOOK_BUILD) --config $(CI_BOOK_CONFIG) || { rm -f $(BOOK_ENV); exit 1; }
else
	$(BOOK_BUILD) || { rm -f $(BOOK_ENV); exit 1; }
endif

# JupyterLab on the chapters for a local learner, with the course's settings from
# tools/lab_settings.py (the end-to-end tests use the same): a double click opens a .md chapter
# as a notebook, through jupytext, and JupyterLab fetches no news and checks for no update. The
# settings are written into .venv, not into your home.
lab: $(STAMP)
	$(BIN)/python tools/lab_settings.py $(LAB_ARGS) book/

# The end-to-end tests alone: a real JupyterLab on a copy of book/, driven in headless Chromium
# (`make test` runs them too). Screenshots and timings: artifacts/e2e/.
e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) _build .pytest_cache .ruff_cache
