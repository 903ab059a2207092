"""What a log line may say: two logging filters every handler of ours carries.

``RedactDatabaseErrors`` — a database error's text quotes the values of the statement
that failed (PostgreSQL's ``DETAIL: Key (url)=(…)``, ``CONTEXT: JSON data, line 1: …``,
``invalid input syntax for type …: "…"``), and those values can be a channel's secrets. A
record that carries one, as its exception, in its exception's chain or among its
arguments, is logged with the error's class, SQLSTATE and the names of the table, column
and constraint involved, never its message. (Connection errors, which carry no SQLSTATE and
quote no statement, keep theirs.)

``OneLinePerRecord`` (plain lines only; JSON encoding already escapes) — text from
outside (a webhook receiver's error body, a target's banner) must not be able to start a
line of its own and forge a record. Control characters and line separators in the
message are escaped (``\\n``, ``\\x1b``…), and every line of an exception's or stack's text
is indented, so a line that starts at column 0 is always the start of a record.

No Django imports: the region worker uses these too.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

# Exception classes defined in these modules are database errors.
_DATABASE_MODULES = ("django.db", "psycopg", "sqlite3")

# C0 controls but the tab, DEL, C1 controls, and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match[0]
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """``text`` on one line: its control characters and line separators escaped."""
    return _UNSAFE.sub(_escaped, text)


def is_database_error(error: object) -> bool:
    """A database error about a statement: one whose chain carries the SQLSTATE the server
    answered with. Errors of the connection itself (refused, authentication, no such
    database) have none and keep their message: it names no value, and the operator needs it."""
    return (
        isinstance(error, Exception)
        and any(cls.__module__.startswith(_DATABASE_MODULES) for cls in type(error).__mro__)
        and any(getattr(link, "sqlstate", None) for link in _chain(error))
    )


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def redacted(error: BaseException) -> str:
    """A database error without its message: class, SQLSTATE, and the names PostgreSQL
    gives of what was involved (identifiers from our schema, never values)."""
    parts = [f"{type(error).__module__}.{type(error).__qualname__}"]
    for link in _chain(error):
        diag = getattr(link, "diag", None)
        sqlstate = getattr(link, "sqlstate", None) or getattr(diag, "sqlstate", None)
        if sqlstate:
            parts.append(f"SQLSTATE {sqlstate}")
        for name in ("table_name", "column_name", "constraint_name"):
            value = getattr(diag, name, None)
            if value:
                parts.append(f"{name.removesuffix('_name')} {value}")
        if sqlstate:
            break
    return " ".join(parts) + " (the database's message is not logged: it may quote the values)"


class _SafetyFilter(logging.Filter):
    """A filter that never raises (a filter's exception would reach the code that logged)
    and, when it cannot make a record safe, logs that instead of the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self.make_safe(record)
        except Exception as error:  # noqa: BLE001 - the record may carry anything
            record.msg = f"a log record of {record.name} could not be made safe to write ({type(error).__name__})"
            record.args, record.exc_info, record.exc_text, record.stack_info = (), None, None, None
        return True

    def make_safe(self, record: logging.LogRecord) -> None:
        raise NotImplementedError


class RedactDatabaseErrors(_SafetyFilter):
    def make_safe(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        in_chain = [link for link in _chain(error) if is_database_error(link)]
        in_args = _database_errors_in(record.args)
        if not in_chain and not in_args:
            return
        message = record.getMessage()
        for found in in_chain + in_args:
            for text in {str(found), repr(found)}:
                if text:
                    message = message.replace(text, redacted(found))
        record.msg, record.args = message, ()
        if record.exc_info and error is not None:
            record.exc_text = _redacted_traceback(error)
            record.exc_info = None


def _database_errors_in(args: Any) -> list[BaseException]:
    values = args.values() if isinstance(args, dict) else args if isinstance(args, tuple) else ()
    return [value for value in values if is_database_error(value)]


def _redacted_traceback(error: BaseException) -> str:
    """The frames that led to ``error`` (file, line and our code: no values), then each
    exception of its chain, database errors redacted."""
    lines = ["Traceback (most recent call last):\n", *traceback.format_tb(error.__traceback__)]
    for position, link in enumerate(_chain(error)):
        if position:
            lines.append("Caused by:\n")
        lines.append(
            redacted(link) + "\n" if is_database_error(link) else "".join(traceback.format_exception_only(link))
        )
    return "".join(lines).rstrip("\n")


class OneLinePerRecord(_SafetyFilter):
    def make_safe(self, record: logging.LogRecord) -> None:
        # A record passes every handler it reaches: escape and indent it once.
        if getattr(record, "_pharos_one_line", False):
            return
        record._pharos_one_line = True
        message = record.getMessage()
        safe = escape_controls(message)
        if safe != message:
            record.msg, record.args = safe, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = _indented(record.exc_text)
        if record.stack_info:
            record.stack_info = _indented(record.stack_info)


def _indented(text: str) -> str:
    return "\n".join("  " + escape_controls(line) for line in text.split("\n"))
