# Two commands matter: `make demo` and `make test`. Both create .venv when it is
# missing and (re)install aescope only when pyproject.toml changed, so repeated
# runs are fast and work offline once installed.

PYTHON ?= python3
VENV ?= .venv
LINT_PATHS := $(wildcard src tests benchmarks scripts)
BIN := $(VENV)/bin
SHARED_DATA := $(wildcard ../shared/data/creditcard.csv.gz)
# Use the shared real data when it sits beside the checkout, unless the caller chose a folder.
ifneq ($(SHARED_DATA),)
export AESCOPE_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: demo test lint format bench-env bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-runtime

demo: $(VENV)/.installed-runtime
	$(BIN)/aescope study --out out/study

test: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(VENV)/.installed-test
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
