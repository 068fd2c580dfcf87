# Hashdesk — `make run` to try it, `make test` before you push (docs/development.md).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps: re-install only when pyproject.toml changes.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
# A fresh data directory per test run, away from the data `make run` uses.
TEST_DATA := var/test
PYTEST_ARGS ?=
LINT_PATHS := src tests bench

.PHONY: help run venv test test-environment lint typecheck migrations-check bench clean

help:
	@echo "make run        set up, then serve Hashdesk on http://127.0.0.1:8000 (Ctrl-C stops)"
	@echo "make test       lint, type-check, migrations check and the test suite"
	@echo "                (again on PostgreSQL + Redis when HASHDESK_TEST_DATABASE_URL and"
	@echo "                HASHDESK_TEST_REDIS_URL are set)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make typecheck  mypy"
	@echo "make bench      run every bench/*.py; results in bench/results/*.json"
	@echo "make venv       create .venv with the development dependencies"
	@echo "make clean      remove .venv, caches and test data (keeps var/ data)"

# --- Environment ---------------------------------------------------------------------------

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "Hashdesk needs Python >= 3.11, but '$(PYTHON)' was not found." >&2; \
	  echo "Install Python 3.11 or newer, or run: make PYTHON=/path/to/python3.11 ..." >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "Hashdesk needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
	  echo "Run with a newer interpreter: make PYTHON=/path/to/python3.11 ..." >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

venv: $(DEV_STAMP)

# --- Running -------------------------------------------------------------------------------

run: $(RUNTIME_STAMP)
	$(BIN)/hashdesk run

# --- Quality gates -------------------------------------------------------------------------

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

migrations-check: $(DEV_STAMP)
	mkdir -p $(TEST_DATA)
	env -u HASHDESK_DATABASE_URL -u HASHDESK_REDIS_URL HASHDESK_DATA_DIR=$(TEST_DATA) \
	  $(BIN)/hashdesk manage makemigrations --check --dry-run

# The PostgreSQL + Redis run is all or nothing: with one variable set and not the other, a
# silently skipped run would look like a pass. Checked before anything is installed.
test-environment:
	@if [ -n "$${HASHDESK_TEST_DATABASE_URL:-}" ] && [ -z "$${HASHDESK_TEST_REDIS_URL:-}" ]; then \
	  echo "HASHDESK_TEST_DATABASE_URL is set but HASHDESK_TEST_REDIS_URL is not:" \
	       "set both (PostgreSQL + Redis run) or neither (SQLite only)." >&2; exit 2; fi
	@if [ -z "$${HASHDESK_TEST_DATABASE_URL:-}" ] && [ -n "$${HASHDESK_TEST_REDIS_URL:-}" ]; then \
	  echo "HASHDESK_TEST_REDIS_URL is set but HASHDESK_TEST_DATABASE_URL is not:" \
	       "set both (PostgreSQL + Redis run) or neither (SQLite only)." >&2; exit 2; fi

test: test-environment $(DEV_STAMP)
	$(MAKE) --no-print-directory lint typecheck migrations-check
	@echo "=== Test suite on SQLite (embedded mode) ==="
	rm -rf $(TEST_DATA) && mkdir -p $(TEST_DATA)
	env -u HASHDESK_DATABASE_URL -u HASHDESK_REDIS_URL HASHDESK_DATA_DIR=$(TEST_DATA) \
	  $(BIN)/pytest $(PYTEST_ARGS)
	@if [ -n "$${HASHDESK_TEST_DATABASE_URL:-}" ]; then \
	  echo "=== Test suite on PostgreSQL + Redis ===" && \
	  rm -rf $(TEST_DATA)-pg && mkdir -p $(TEST_DATA)-pg && \
	  HASHDESK_DATA_DIR=$(TEST_DATA)-pg \
	  HASHDESK_DATABASE_URL="$$HASHDESK_TEST_DATABASE_URL" \
	  HASHDESK_REDIS_URL="$$HASHDESK_TEST_REDIS_URL" \
	  HASHDESK_REDIS_PREFIX="hashdesk-test-$$$$-$$(date +%s)" \
	  $(BIN)/pytest $(PYTEST_ARGS); \
	else \
	  echo "(PostgreSQL + Redis run not requested: HASHDESK_TEST_DATABASE_URL and" \
	       "HASHDESK_TEST_REDIS_URL are unset.)"; \
	fi

# --- Benchmarks ----------------------------------------------------------------------------

bench: $(DEV_STAMP)
	mkdir -p bench/results
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks in bench/"; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
	  echo "=== $$script ==="; \
	  $(BIN)/python "$$script"; \
	done; \
	echo "Results: bench/results/*.json"

# --- Cleaning ------------------------------------------------------------------------------

clean:
	rm -rf $(VENV) $(TEST_DATA) $(TEST_DATA)-pg .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf build dist src/*.egg-info bench/results/*.tmp
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
	@echo "Kept var/ (the database and secret key of 'make run'); remove it by hand to start over."
