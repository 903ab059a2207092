"""Structured logs: JSON lines carrying monitor, region and round when a record has them."""

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime

from celery import signals

from config.logging import JsonFormatter, json_logs_enabled, route_celery_logs_through_json


def formatted(message="round closed", *, exc_info=None, **extra):
    record = logging.getLogger("monitors.aggregator").makeRecord(
        "monitors.aggregator", logging.INFO, __file__, 1, message, (), exc_info, extra=extra
    )
    return json.loads(JsonFormatter().format(record))


def test_a_line_carries_monitor_region_and_round_as_fields():
    line = formatted(monitor=42, region="eu", round="2026-11-28T08:00:00+00:00")
    assert (line["monitor"], line["region"], line["round"]) == (42, "eu", "2026-11-28T08:00:00+00:00")
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "monitors.aggregator", "round closed")


def test_a_line_without_context_has_no_context_fields(monkeypatch):
    monkeypatch.delenv("PHAROS_REGION", raising=False)
    assert not {"monitor", "region", "round"} & set(formatted())


def test_a_region_worker_names_its_own_region_on_lines_that_name_none(monkeypatch):
    monkeypatch.setenv("PHAROS_REGION", "as")
    assert formatted()["region"] == "as"
    assert formatted(region="eu")["region"] == "eu"


def test_other_extras_are_kept_apart_from_the_fields():
    line = formatted(region="eu", votes={"down": 2})
    assert line["extra"] == {"votes": {"down": 2}}


def test_datetimes_in_extras_become_iso_8601():
    moment = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert formatted(round=moment)["round"] == "2026-11-28T08:00:00+00:00"


def test_an_exception_is_included_in_the_line():
    try:
        raise ValueError("bad row")
    except ValueError:
        line = formatted(exc_info=sys.exc_info(), monitor=1)
    assert "ValueError: bad row" in line["exception"]


def test_json_logs_follow_the_setting_words():
    assert json_logs_enabled({"PHAROS_LOG_JSON": "on"})
    assert not json_logs_enabled({"PHAROS_LOG_JSON": "0"})
    assert not json_logs_enabled({})


def test_django_processes_write_json_lines_when_the_setting_is_on():
    script = (
        "import django, logging; django.setup();"
        "logging.getLogger('monitors.scheduler').warning('late', extra={'monitor': 7, 'region': 'as'})"
    )
    env = dict(os.environ, PHAROS_LOG_JSON="1", DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="x")
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    line = json.loads(run.stderr.strip().splitlines()[-1])
    assert (line["message"], line["monitor"], line["region"]) == ("late", 7, "as")


def test_celery_handlers_are_switched_to_json_when_the_setting_is_on(monkeypatch):
    monkeypatch.setenv("PHAROS_LOG_JSON", "1")
    assert route_celery_logs_through_json()
    logger = logging.getLogger("pharos-test-celery")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        signals.after_setup_logger.send(
            sender=None, logger=logger, loglevel="INFO", logfile=None, format="", colorize=False
        )
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        logger.removeHandler(handler)
