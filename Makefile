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

.PHONY: demo test lint format bench-env bench bench-smoke clean

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

# Speed benchmarks against Keras, PyTorch and PyOD need the heavy `bench` extra, kept in
# its own environment (about 4 GB) so the runtime and test installs stay small.
BENCH_VENV ?= .venv-bench

$(BENCH_VENV)/.installed-bench: pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]'
	touch $@

bench-env: $(BENCH_VENV)/.installed-bench

bench: bench-env
	$(BENCH_VENV)/bin/python benchmarks/train_speed.py --json out/bench/train_speed.json
	$(BENCH_VENV)/bin/python benchmarks/score_speed.py --json out/bench/score_speed.json

bench-smoke: bench-env
	$(BENCH_VENV)/bin/python benchmarks/train_speed.py --rows 20000 --epochs 2 --rounds 1 --loss-seeds 3
	$(BENCH_VENV)/bin/python benchmarks/score_speed.py --rows 100000 --repeats 1

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
