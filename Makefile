# The two commands: `make run` starts the whole system, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-sqlite lint install services browser nginx bench clean

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
	$(MAKE) test-sqlite

# A second, short pass on the quick start's configuration (SQLite, the on-disk broker):
# the state-machine, scheduler, aggregator, ping and watchdog tests, so the SQLite side of every
# `connection.vendor` branch runs under a test. PostgreSQL-only tests skip themselves.
SQLITE_TESTS := tests/heartbeats/test_lifecycle.py tests/heartbeats/test_schedule.py \
	tests/heartbeats/test_ping_urls.py tests/heartbeats/test_hot_rows.py \
	tests/heartbeats/test_locked_path.py tests/heartbeats/test_prune_and_tasks.py \
	tests/heartbeats/test_ping_route.py \
	tests/monitors/test_state_machine.py tests/monitors/test_scheduler.py \
	tests/monitors/test_aggregator.py tests/monitors/test_retention.py \
	tests/monitors/test_quarantine.py tests/monitors/test_quarantine_teams.py \
	tests/monitors/test_quorum_matrix.py tests/monitors/test_domain_expiry.py \
	tests/monitors/test_expiry.py tests/monitors/test_withdrawal.py \
	tests/monitors/test_maintenance.py tests/monitors/test_specs.py \
	tests/ops/test_watchdog.py
test-sqlite: install
	env -u DATABASE_URL -u REDIS_URL SECRET_KEY=pharos-test-secret-key PHAROS_IGNORE_DOTENV=1 \
		$(PY) -m pytest -q $(SQLITE_TESTS)

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
