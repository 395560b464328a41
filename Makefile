# Gatehouse. `make demo` runs the portal with everything it needs; `make test` runs every check.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The first interpreter that is Python 3.12 or newer (pyenv reads .python-version).
PYTHON ?= $(shell for p in python3 python3.12 python3.13 python3.14; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v $$p; break; }; done)

# Demo and tests run in development mode unless the caller says otherwise.
export DEBUG ?= 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test lint fmt typecheck check pytest test-browser bench bench-quick sandbox clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Gatehouse needs Python 3.12 or newer (none found on PATH)." >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Migrates, then supervises sandbox, OIDC provider, web, worker and beat (Ctrl-C stops all).
demo: install
	$(PY) manage.py demo

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

fmt: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: install
	$(PY) -m mypy .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Browser tests run in their own session: it puts the test database in a file that the live
# server's worker subprocess can open, while the rest keeps SQLite's fast in-memory database.
pytest: install
	$(PY) -m pytest -m "not browser" $(PYTEST_ARGS)
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

test-browser: install
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

test: lint typecheck check pytest

bench: install
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: install
	$(PY) -m bench --quick $(BENCH_ARGS)

sandbox: install
	$(PY) manage.py okta_sandbox --port 8900 --org acme --token demo-sandbox-token

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
