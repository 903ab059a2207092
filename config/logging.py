"""Structured logs: one JSON object per line when ``PHAROS_LOG_JSON`` is on.

Standard library only, so the Django-free region worker can use it too.

A line that concerns one monitor, region or round carries it as a field. Pass them with
``extra=``::

    log.info("round closed", extra={"monitor": monitor.id, "round": scheduled_at, "region": region})

The keys in ``CONTEXT_FIELDS`` become top-level JSON fields with those names; anything else
passed through ``extra=`` is kept under ``"extra"`` so a typo never overwrites a field
the log pipeline relies on.

Celery installs its own handlers on the root logger when a worker or beat starts and
ignores Django's LOGGING; ``route_celery_logs_through_json()`` connects to Celery's
logging signals so those handlers format JSON too. config/celery.py calls it; a Celery app
that does not import config.celery (the region worker) calls it itself.
"""

import json
import logging
import os
import traceback
from datetime import UTC, datetime

CONTEXT_FIELDS = ("monitor", "region", "round", "heartbeat", "incident", "batch", "team")

TRUE_WORDS = {"1", "true", "yes", "on"}

# Attributes every LogRecord has; anything else on a record came from ``extra=`` (or from
# Celery's task formatter, which adds task_id / task_name).
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_KEPT_AS_IS = {"task_id", "task_name"}


def json_logs_enabled(environ=None):
    """Whether ``PHAROS_LOG_JSON`` asks for JSON lines (read from the environment so that
    processes without Django settings agree with the ones that have them)."""
    environ = os.environ if environ is None else environ
    return environ.get("PHAROS_LOG_JSON", "").strip().lower() in TRUE_WORDS


def _plain(value):
    """A JSON-safe rendering of an ``extra=`` value: datetimes as ISO 8601, the rest as str."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON: ts, level, logger, message, process, the
    context fields it carries, its other extras, and the exception if any.

    In a region worker (``PHAROS_REGION`` set) every line concerns that region, so lines
    that do not name a region get the worker's own.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_region = os.environ.get("PHAROS_REGION", "").strip() or None

    def format(self, record):
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        extras = {}
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRIBUTES or key.startswith("_"):
                continue
            if key in CONTEXT_FIELDS or key in _KEPT_AS_IS:
                line[key] = _plain(value)
            else:
                extras[key] = _plain(value)
        if self.own_region and "region" not in line:
            line["region"] = self.own_region
        if extras:
            line["extra"] = extras
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        # default=str: a value _plain could not foresee must not lose the whole line.
        return json.dumps(line, ensure_ascii=False, default=str)


def _use_json_on(logger, **_ignored):
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())


def route_celery_logs_through_json():
    """Make Celery's own handlers (worker, beat, task loggers) write JSON lines when
    ``PHAROS_LOG_JSON`` is on. Safe to call more than once; a no-op when it is off."""
    if not json_logs_enabled():
        return False
    from celery import signals

    # weak=False: the receivers are module functions, but be explicit that they must live
    # as long as the process; dispatch_uid makes a second call harmless.
    signals.after_setup_logger.connect(_use_json_on, weak=False, dispatch_uid="pharos-json-logs")
    signals.after_setup_task_logger.connect(_use_json_on, weak=False, dispatch_uid="pharos-json-task-logs")
    return True
