"""Structured logs: one JSON object per line when ``PHAROS_LOG_JSON`` is on, and what
every line may and may not say (config/log_safety.py).

No Django here, so the region worker can use it too.

A line that concerns one monitor, region or round carries it as a field. Pass them with
``extra=``::

    log.info("round closed", extra={"monitor": monitor.id, "round": scheduled_at, "region": region})

The keys in ``CONTEXT_FIELDS`` become top-level JSON fields with those names; anything else
passed through ``extra=`` is kept under ``"extra"`` so a typo never overwrites a field
the log pipeline relies on.

Whatever the format, a database error never reaches a line with its parameters, and in
plain lines text from outside (a receiver's error, a target's answer) cannot start a line
of its own: see config/log_safety.py. Django's handlers get those filters from LOGGING.

Celery installs its own handlers on the root logger when a worker or beat starts and
ignores Django's LOGGING; ``route_celery_logs_through_json()`` connects to Celery's
logging signals so those handlers get the same filters, and format JSON too when it is on. config/celery.py calls it; a Celery app
that does not import config.celery (the region worker) calls it itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from config.log_safety import OneLinePerRecord, RedactDatabaseErrors

CONTEXT_FIELDS = ("monitor", "region", "round", "heartbeat", "incident", "batch", "team")

TRUE_WORDS = {"1", "true", "yes", "on"}

# The fields every line has, in this order, named as our log pipeline expects them.
_LEADING = ("ts", "level", "logger", "message", "process")
_RENAMED = {"levelname": "level", "name": "logger", "exc_info": "exception", "stack_info": "stack"}
# Celery's task formatter adds these to a record; they stay top-level like the context.
_KEPT_AS_IS = ("task_id", "task_name")
_TOP_LEVEL = frozenset(_LEADING + CONTEXT_FIELDS + _KEPT_AS_IS + ("exception", "stack"))


def json_logs_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``PHAROS_LOG_JSON`` asks for JSON lines (read from the environment so that
    processes without Django settings agree with the ones that have them)."""
    environ = os.environ if environ is None else environ
    return environ.get("PHAROS_LOG_JSON", "").strip().lower() in TRUE_WORDS


class JsonFormatter(LibraryJsonFormatter):
    """One line of JSON per record, on python-json-logger: ts, level, logger, message,
    process, the context fields it carries, its other extras under ``"extra"`` (so a typo
    never overwrites a field the log pipeline relies on), and the exception if any.

    The library does the record walk, the exception and stack text and the encoding
    (datetimes as ISO 8601, anything unforeseen as its ``str``); this class only shapes
    the line. In a region worker (``PHAROS_REGION`` set) every line concerns that region,
    so lines that do not name a region get the worker's own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message", "process"])
        kwargs.setdefault("rename_fields", _RENAMED)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)
        self.own_region = os.environ.get("PHAROS_REGION", "").strip() or None

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["ts"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        line = {key: log_data.pop(key) for key in _LEADING if key in log_data}
        extras = {key: log_data.pop(key) for key in list(log_data) if key not in _TOP_LEVEL and not key.startswith("_")}
        line.update((key, value) for key, value in log_data.items() if not key.startswith("_"))
        if self.own_region and "region" not in line:
            line["region"] = self.own_region
        if extras:
            line["extra"] = extras
        return line


def protect_handler(handler: logging.Handler, *, json_lines: bool) -> None:
    """Give ``handler`` our filters (once), and our JSON formatter when ``json_lines``."""
    kinds = {type(existing) for existing in handler.filters}
    if RedactDatabaseErrors not in kinds:
        handler.addFilter(RedactDatabaseErrors())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    elif OneLinePerRecord not in kinds:
        handler.addFilter(OneLinePerRecord())


def _protect_celery_handlers(logger: logging.Logger, **_ignored: Any) -> None:
    for handler in logger.handlers:
        protect_handler(handler, json_lines=json_logs_enabled())


# Celery's own lines for every task and every beat tick ("Task … received", "Task …
# succeeded in …", "Scheduler: Sending due task …"): with ticks every few seconds they were
# two thirds of `make run`'s output and buried the state changes. Shown at DEBUG only;
# failures and retries are logged at WARNING or ERROR and stay.
ROUTINE_CELERY_LOGGERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat")


def quiet_routine_task_lines(loglevel: int | str | None = None, **_ignored: Any) -> None:
    """Raise Celery's per-task loggers to WARNING unless the process logs at DEBUG."""
    level = logging.getLevelName(loglevel) if isinstance(loglevel, str) else loglevel
    if isinstance(level, int) and level <= logging.DEBUG:
        return
    for name in ROUTINE_CELERY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def route_celery_logs_through_json() -> bool:
    """Give Celery's own handlers (worker, beat, task loggers) our filters, and make them
    write JSON lines when ``PHAROS_LOG_JSON`` is on; keep the per-task lines for DEBUG.
    Safe to call more than once; returns whether the lines are JSON."""
    from celery import signals

    # weak=False: the receivers are module functions, but be explicit that they must live
    # as long as the process; dispatch_uid makes a second call harmless.
    signals.after_setup_logger.connect(_protect_celery_handlers, weak=False, dispatch_uid="pharos-json-logs")
    signals.after_setup_task_logger.connect(_protect_celery_handlers, weak=False, dispatch_uid="pharos-json-task-logs")
    signals.after_setup_logger.connect(quiet_routine_task_lines, weak=False, dispatch_uid="pharos-quiet-task-lines")
    return json_logs_enabled()
