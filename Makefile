# The two commands:  `make all` (set up, build the data, run the whole series, export reports)
#                    `make test` (set up, run the test suite and every notebook in quick mode)
SHELL  := bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  := torch==2.13.0
# pip stamp: redone only when the dependency list changes (idempotent and fast when done)
STAMP  := $(VENV)/.mm-installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# glibc's malloc returns tensor memory to the OS after every batch; keeping it is ~1.5x faster
# (every target, `make lab` included, runs with these)
export MALLOC_MMAP_MAX_ = 0
export MALLOC_TRIM_THRESHOLD_ = 100000000000
export PYTHONHASHSEED = 0

.PHONY: all setup data notebooks notebooks-quick readme test test-fast bench export lab clean clean-cache

# the series runner runs every notebook whatever happens in the others, exports what ran, then lists
# every claim that did not hold and every error, and fails if there was one
SERIES := $(BIN)/python -m tools.run_series --out reports/executed --export reports

# the README's results and the model-answer report (reports/report.pdf) are refreshed even when a
# claim failed (the runner's summary says which)
all: setup data
	@rc=0; $(SERIES) || rc=$$?; $(BIN)/python -m tools.update_readme || rc=1; \
	$(BIN)/python -m tools.report || rc=1; exit $$rc

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_export.sh scripts/setup_browser.sh scripts/jupyter_env_config.py scripts/nbconvert/mmhelpers.tex.j2
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# torch first and pinned: an unpinned torch resolves to the CUDA build (gigabytes)
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev,export]" "$(TORCH)"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mmhelpers)" >/dev/null
	@rm -f $(VENV)/.mm-installed-* && touch $@
	@# XeLaTeX (apt, as root on Debian/Ubuntu) + pandoc for PDF export; says what to install otherwise
	PYTHON=$(BIN)/python bash scripts/setup_export.sh
	@# Chromium (apt) for the end-to-end test of JupyterLab (tests/test_browser.py)
	bash scripts/setup_browser.sh

data: setup
	$(BIN)/python -m mmhelpers.embedded

notebooks: setup
	$(SERIES)

notebooks-quick: setup
	$(BIN)/python -m tools.run_series --out reports/quick --quick --export reports/quick-pdf

readme: setup
	$(BIN)/python -m tools.update_readme

test: setup
	MM_QUICK=1 $(BIN)/python -m pytest -q tests

test-fast: setup
	$(BIN)/python -m pytest -q tests -m "not notebooks"

# BENCH_ARGS: e.g. "--keep-cold reports/executed" (the cold run then serves as the series' own run)
BENCH_ARGS ?=
bench: setup
	@mkdir -p .bench
	set -o pipefail; $(BIN)/python -m tools.bench $(BENCH_ARGS) | tee .bench/bench.log
	$(BIN)/python -m tools.perf_report .bench/bench.log docs/performance.md

export: setup
	@test -d reports/executed || $(BIN)/python -m tools.run_series --out reports/executed
	$(BIN)/python -m tools.export reports/executed --out reports --formats pdf html --combined series
	$(BIN)/python -m tools.report

# LAB_ARGS: extra server options, e.g. LAB_ARGS="--no-browser --port=8899"; LAB_DIR: what it serves
LAB_DIR  ?= notebooks
LAB_ARGS ?=
# as root (a container, a course VM) the server refuses to start without --allow-root
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: setup
	$(BIN)/jupyter lab $(LAB_ROOT) $(LAB_ARGS) $(LAB_DIR)

clean:
	rm -rf reports figures/quick .pytest_cache

clean-cache:
	rm -rf .cache
