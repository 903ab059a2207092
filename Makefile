# The two commands: `make run` starts the whole system, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint install services browser nginx bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Quick start with no environment: SQLite and the on-disk broker. With DATABASE_URL and
# REDIS_URL set, the same command runs on PostgreSQL and Redis.
run: install
	$(PY) -m config.supervisor

# The suite runs against real PostgreSQL and Redis; local servers are started if stopped.
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pharos
test: export REDIS_URL ?= redis://127.0.0.1:6379/1
test: export SECRET_KEY ?= pharos-test-secret-key
test: export PHAROS_IGNORE_DOTENV = 1
test: install services browser nginx lint
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (lint and format) and mypy; settings in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

services:
	sh deploy/local/ensure-services.sh

browser:
	sh deploy/local/ensure-browser.sh

nginx:
	sh deploy/local/ensure-nginx.sh

bench: install services
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var pharos.sqlite3*
