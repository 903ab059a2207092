"""The ping route gunicorn serves (heartbeats.views.ping_route in front of Django's WSGI
application), in this process on the test database: pings answered without Django's
handler, everything else handed to it, failures logged and answered, connections recycled."""

import logging
from contextlib import contextmanager

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.signals import connection_created

from alerts.models import Incident
from heartbeats.models import Heartbeat, Ping
from tests.backends import ON_SQLITE
from tests.heartbeats.conftest import ping_path, served_by_ping_route
from tests.heartbeats.test_reconnect import terminate_backend

pytestmark = pytest.mark.django_db(transaction=True)

# The quick start (make test-sqlite) serves pings through this route too; what needs
# PostgreSQL itself (a terminated backend, a test database that outlives its
# connection) skips there.
needs_postgresql = pytest.mark.skipif(ON_SQLITE, reason="PostgreSQL itself: its backends, a database on disk")


def test_a_ping_is_answered_and_stored_without_the_middleware(heartbeat):
    served = served_by_ping_route(ping_path(heartbeat, "/start"), method="POST", body=b"starting")

    assert (served.status, served.body) == ("200 OK", b"OK")
    assert served.headers["Content-Length"] == "2"
    assert served.headers["X-Pharos-Ping-Body-Limit"] == "100000"
    # XFrameOptionsMiddleware stamps every response that goes through the middleware.
    assert "X-Frame-Options" not in served.headers
    assert Ping.objects.get(heartbeat=heartbeat).body == "starting"


def test_a_failure_opens_its_incident_through_the_route(up_heartbeat):
    served = served_by_ping_route(ping_path(up_heartbeat, "/3"), method="POST", body=b"disk full")

    assert served.status == "200 OK"
    incident = Incident.objects.get(source_type="heartbeat", source_id=up_heartbeat.pk)
    assert (incident.cause, incident.metadata["ping_body"]) == ("Job failed with exit code 3", "disk full")


def test_bad_requests_are_answered_by_the_route_in_plain_text(heartbeat):
    assert served_by_ping_route(ping_path(heartbeat, "/256")).status == "400 Bad Request"
    assert served_by_ping_route(ping_path(heartbeat), method="PUT").headers["Allow"] == "GET, POST, HEAD"
    assert served_by_ping_route("/api/v1/heartbeat/" + "a" * 65).status == "404 Not Found"
    assert Ping.objects.count() == 0


def test_other_paths_go_through_django_and_its_middleware():
    served = served_by_ping_route("/admin/login/")

    assert served.status == "200 OK"
    assert served.headers["X-Frame-Options"] == "DENY"


@contextmanager
def pings_refused():
    """A real failure inside the database: every insert of a ping raises."""
    with connection.cursor() as cursor:
        if ON_SQLITE:
            cursor.execute(
                "CREATE TRIGGER refuse_pings BEFORE INSERT ON heartbeats_ping "
                "BEGIN SELECT RAISE(ABORT, 'pings refused'); END"
            )
        else:
            cursor.execute(
                "CREATE FUNCTION refuse_pings() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'pings refused'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_pings BEFORE INSERT ON heartbeats_ping "
                "FOR EACH ROW EXECUTE FUNCTION refuse_pings()"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if ON_SQLITE:
                cursor.execute("DROP TRIGGER refuse_pings")
            else:
                cursor.execute("DROP TRIGGER refuse_pings ON heartbeats_ping")
                cursor.execute("DROP FUNCTION refuse_pings()")


def test_a_ping_that_fails_is_logged_and_answered_500_and_the_next_one_is_recorded(up_heartbeat, caplog):
    path = ping_path(up_heartbeat, "/start")
    with pings_refused(), caplog.at_level(logging.ERROR, logger="django.request"):
        served = served_by_ping_route(path)

    assert (served.status, served.body) == ("500 Internal Server Error", b"Internal server error")
    [logged] = [record for record in caplog.records if record.name == "django.request"]
    # Named without its token, the heartbeat's credential.
    expected = f"Internal Server Error: /api/v1/heartbeat/{up_heartbeat.token[:4]}…/start"
    assert (logged.levelname, logged.getMessage()) == ("ERROR", expected)
    assert up_heartbeat.token not in caplog.text
    assert "Traceback" in caplog.text  # the database's own error, with its traceback
    assert served_by_ping_route(path).status == "200 OK"
    assert list(Ping.objects.filter(heartbeat=up_heartbeat).values_list("kind", flat=True)) == ["start"]


@needs_postgresql
def test_a_ping_after_the_server_dropped_the_connection_is_recorded_on_a_new_one(up_heartbeat):
    assert served_by_ping_route(ping_path(up_heartbeat, "/start")).status == "200 OK"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    terminate_backend(pid)

    assert served_by_ping_route(ping_path(up_heartbeat, "/fail")).status == "200 OK"

    assert list(Ping.objects.filter(heartbeat=up_heartbeat).order_by("id").values_list("kind", flat=True)) == [
        "start",
        "fail",
    ]
    assert Heartbeat.objects.get(pk=up_heartbeat.pk).status == "down"


def connections_opened_by_two_pings(heartbeat):
    opened = []

    def count(sender, connection, **kwargs):
        if connection is connections[DEFAULT_DB_ALIAS]:
            opened.append(connection)

    connection.close()
    connection_created.connect(count)
    try:
        for _ in range(2):
            assert served_by_ping_route(ping_path(heartbeat, "/start")).status == "200 OK"
    finally:
        connection_created.disconnect(count)
    return len(opened)


@needs_postgresql
def test_the_route_keeps_its_connection_for_conn_max_age(heartbeat, monkeypatch, settings):
    monkeypatch.setitem(settings.DATABASES[DEFAULT_DB_ALIAS], "CONN_MAX_AGE", 60)

    assert connections_opened_by_two_pings(heartbeat) == 1


@needs_postgresql
def test_the_route_closes_its_connection_after_each_ping_when_conn_max_age_is_0(heartbeat, monkeypatch, settings):
    monkeypatch.setitem(settings.DATABASES[DEFAULT_DB_ALIAS], "CONN_MAX_AGE", 0)

    assert connections_opened_by_two_pings(heartbeat) == 2
