"""The hand-written JSON log formatter config/logging.py had before it moved onto
python-json-logger, kept only as bench/log_formatter.py's point of comparison."""

import json
import logging
import os
import traceback
from datetime import UTC, datetime

from config.logging import CONTEXT_FIELDS

# Attributes every LogRecord has; anything else on a record came from ``extra=`` (or from
# Celery's task formatter, which adds task_id / task_name).
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_KEPT_AS_IS = {"task_id", "task_name"}


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


class HandwrittenJsonFormatter(logging.Formatter):
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
