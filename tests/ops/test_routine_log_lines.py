"""Routine task lines at DEBUG, state changes at INFO: `make run` must not bury
`monitor 2 down: incident 2 opened` under tick and sweep lines (bench/log_volume.py
measures the whole system)."""

import logging

import pytest
from celery import signals

from config.logging import ROUTINE_CELERY_LOGGERS, route_celery_logs_through_json


@pytest.fixture
def celery_loggers():
    saved = {name: logging.getLogger(name).level for name in ROUTINE_CELERY_LOGGERS}
    for name in ROUTINE_CELERY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield [logging.getLogger(name) for name in ROUTINE_CELERY_LOGGERS]
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_a_celery_process_at_info_leaves_out_the_per_task_and_beat_lines(celery_loggers):
    route_celery_logs_through_json()

    signals.after_setup_logger.send(sender=None, logger=logging.getLogger(), loglevel=logging.INFO, logfile=None)

    assert [logger.isEnabledFor(logging.INFO) for logger in celery_loggers] == [False, False, False]
    assert all(logger.isEnabledFor(logging.WARNING) for logger in celery_loggers)  # failures stay


def test_a_celery_process_at_debug_shows_them(celery_loggers):
    route_celery_logs_through_json()

    signals.after_setup_logger.send(sender=None, logger=logging.getLogger(), loglevel=logging.DEBUG, logfile=None)

    assert all(logger.isEnabledFor(logging.INFO) for logger in celery_loggers)


@pytest.mark.django_db
def test_a_tick_that_dispatches_logs_at_debug_only(team, caplog):
    from django.utils import timezone

    from monitors.models import Monitor
    from monitors.tasks import tick

    Monitor.objects.create(team=team, url="https://example.com", regions=["us"], next_check_at=timezone.now())
    with caplog.at_level(logging.DEBUG, logger="monitors.tasks"):
        tick.run()

    [record] = [r for r in caplog.records if r.name == "monitors.tasks"]
    assert record.levelno == logging.DEBUG and "tick dispatched 1 rounds" in record.getMessage()
