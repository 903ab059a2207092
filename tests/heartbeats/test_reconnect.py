"""A ping on a connection the database dropped while idle reconnects instead of failing."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from heartbeats.models import Ping
from tests.heartbeats.conftest import ping_path

pytestmark = pytest.mark.django_db(transaction=True)


def terminate_backend(pid):
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def test_a_ping_after_the_server_dropped_the_connection_is_recorded(client, up_heartbeat):
    assert client.get(ping_path(up_heartbeat)).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    terminate_backend(pid)

    response = client.get(ping_path(up_heartbeat, "/start"))

    assert response.status_code == 200
    assert list(Ping.objects.filter(heartbeat=up_heartbeat).values_list("kind", flat=True)) == ["start", "success"]
