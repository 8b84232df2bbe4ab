# Quick start: `make run` builds the example dataset version, `make test` runs the suite,
# `make lint` checks the code with ruff, `make annotate` serves the annotation page.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
export PATH := $(BIN):$(PATH)
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache

.PHONY: install run test lint examples bench annotate constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	dvc repro
	python -m penta_core.report

test: install
	pytest -q

lint: install
	ruff check .

annotate: install
	penta-dataset --annotate-ui

examples: install
	python -m penta_core.examples datasets/examples

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Helper modules of the benchmarks start with an underscore (benchmarks/_corpus.py) and are not run.
bench: $(BENCH_STAMP)
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; python $$script || exit 1; done

# Pin every installed package to its version now (after changing pyproject.toml's dependencies).
constraints: $(BENCH_STAMP)
	python scripts/freeze_constraints.py
