"""What a log line may say: database errors without their values, and no line forged by
text from outside (config/log_safety.py), in plain and JSON lines, through the handlers
Django's LOGGING and Celery's signals set up."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from celery import signals
from django.db import connection, transaction

from config.log_safety import RedactDatabaseErrors, escape_controls
from config.logging import protect_handler, route_celery_logs_through_json

SECRET = "s3cret-webhook-token-42"
FORGED = "2026-12-05 12:00:00,000 INFO alerts.delivery notification 7 delivered"


@pytest.fixture
def captured():
    """A handler of ours on a logger of the test's own: ``captured(json_lines)`` returns
    (logger, stream)."""
    handlers = []

    def attach(json_lines):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        protect_handler(handler, json_lines=json_lines)
        logger = logging.getLogger(f"pharos-test-safety-{len(handlers)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        handlers.append((logger, handler))
        return logger, stream

    yield attach
    for logger, handler in handlers:
        logger.removeHandler(handler)


def database_error_quoting_the_secret():
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT %s::integer", [SECRET])
    except Exception as error:  # noqa: BLE001 - the error under test
        return error
    pytest.fail("PostgreSQL accepted a word as an integer")


@pytest.mark.django_db
@pytest.mark.parametrize("json_lines", [False, True], ids=["plain", "json"])
def test_a_database_error_is_logged_without_the_values_it_quotes(captured, json_lines):
    logger, stream = captured(json_lines)
    error = database_error_quoting_the_secret()
    assert SECRET in str(error)  # what PostgreSQL says, and what must not reach the log
    try:
        raise error
    except Exception:
        logger.exception("saving channel %s failed", 12)
    logger.warning("retrying after %s", error)
    # Celery's task failure line puts the exception's repr in the message itself, next to exc_info.
    logger.error(
        "Task %(name)s raised unexpected: %(exc)s", {"name": "alerts.deliver", "exc": repr(error)}, exc_info=error
    )
    output = stream.getvalue()
    assert SECRET not in output
    assert output.count("SQLSTATE 22P02") >= 3
    assert "saving channel 12 failed" in output and "Traceback" in output


@pytest.mark.parametrize("json_lines", [False, True], ids=["plain", "json"])
def test_text_from_outside_cannot_start_a_line_of_its_own(captured, json_lines):
    logger, stream = captured(json_lines)
    receiver_says = f"bad gateway\n{FORGED}\r\n\x1b[2Jcleared"
    logger.warning("notification 7 attempt 1: HTTP 502: %s", receiver_says)
    try:
        raise RuntimeError(f"receiver closed\n{FORGED}")
    except RuntimeError:
        logger.exception("notification 7: unexpected error")
    lines = stream.getvalue().splitlines()
    assert not any(line.startswith(FORGED) for line in lines)
    assert not any("\x1b" in line for line in lines)
    if json_lines:
        records = [json.loads(line) for line in lines]
        assert records[0]["message"] == f"notification 7 attempt 1: HTTP 502: {receiver_says}"
        assert len(records) == 2
    else:
        # Every line that starts at column 0 is the start of one of the two records.
        starts = [line for line in lines if not line.startswith(" ")]
        assert len(starts) == 2
        assert "HTTP 502: bad gateway\\n2026-12-05 12:00:00,000 INFO" in starts[0]
        assert "\\x1b[2Jcleared" in starts[0]


def test_control_characters_and_line_separators_are_escaped():
    assert escape_controls("a\nb\rc\x00d\u2028e\x85f\tg") == "a\\nb\\rc\\x00d\\u2028e\\x85f\tg"


def _test_database_url():
    db = connection.settings_dict
    credentials = (db["USER"] or "postgres") + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _django_process(code, **env):
    script = "import django, logging; django.setup()\n" + code
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **{key: value for key, value in os.environ.items() if key != "PHAROS_TEST_DB_NAME"},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "x",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return run.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("json_lines", ["0", "1"], ids=["plain", "json"])
def test_django_processes_log_through_both_filters(json_lines):
    code = (
        "from django.db import connection\n"
        "log = logging.getLogger('alerts.delivery')\n"
        f"log.warning('receiver said: %s', {FORGED!r}.join(['x\\n', '']))\n"
        "try:\n"
        f"    connection.cursor().execute('SELECT %s::integer', [{SECRET!r}])\n"
        "except Exception:\n"
        "    log.exception('query failed')\n"
    )
    output = _django_process(code, PHAROS_LOG_JSON=json_lines, DATABASE_URL=_test_database_url())
    assert SECRET not in output
    assert "SQLSTATE 22P02" in output
    assert not any(line.startswith(FORGED) for line in output.splitlines())


def test_celery_handlers_get_the_filters_in_plain_mode_too(monkeypatch):
    monkeypatch.delenv("PHAROS_LOG_JSON", raising=False)
    assert route_celery_logs_through_json() is False
    logger = logging.getLogger("pharos-test-celery-plain")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        signals.after_setup_logger.send(
            sender=None, logger=logger, loglevel="INFO", logfile=None, format="", colorize=False
        )
        logger.warning("receiver said: %s", f"x\n{FORGED}")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().count("\n") == 1


def test_a_record_whose_message_cannot_be_built_is_replaced_by_a_word_about_it(captured):
    logger, stream = captured(False)
    logger.warning("two values: %s %s", "only one")  # the filter must not raise into the caller
    assert "could not be made safe" in stream.getvalue()


def test_a_connection_error_keeps_its_message():
    import psycopg

    try:
        psycopg.connect("host=127.0.0.1 port=1 connect_timeout=2")
    except psycopg.OperationalError as error:
        record = logging.makeLogRecord({"msg": "connect failed: %s", "args": (error,)})
    RedactDatabaseErrors().filter(record)
    assert "127.0.0.1" in record.getMessage()
