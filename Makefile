# Quick start: `make run` builds the example dataset version, `make test` runs the suite,
# `make lint` checks the code with ruff, `make annotate` serves the annotation page.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache

.PHONY: install run test lint examples bench annotate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
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

bench: install
	@for script in benchmarks/*.py; do echo "== $$script"; python $$script || exit 1; done
