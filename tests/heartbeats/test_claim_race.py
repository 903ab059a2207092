"""A ping racing an edit of its heartbeat, on two real PostgreSQL connections.

The interleaving is forced, not hoped for: the PATCH runs inside a transaction this test
holds open, so the ping (on its own connection, in a thread) reads the heartbeat as it was
before the edit and then waits on the edit's row lock to claim it. When the edit commits,
the ping must not write what it decided from the old row: it must decide again from the
new one.
"""

import threading
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from alerts.models import Incident
from heartbeats.models import HeartbeatStatus, PingKind
from heartbeats.ping import PingData, record_ping
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_LIMIT = 10.0  # seconds; a bound on polling for the ping to queue, not a figure under test


def ping_waiting_for_edit(token: str, ping: PingData, now: datetime, edit) -> int | None:
    """Run ``edit`` in a transaction; ping meanwhile on another connection; commit the edit
    only once the ping is blocked on the row; return what ``record_ping`` returned."""
    pid: list[int] = []
    result: list[int | None] = []
    errors: list[BaseException] = []
    ready = threading.Event()

    def pinger() -> None:
        try:
            connection.ensure_connection()
            pid.append(connection.connection.info.backend_pid)
            ready.set()
            result.append(record_ping(token, ping, now=now))
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
            ready.set()
        finally:
            connection.close()

    thread = threading.Thread(target=pinger)
    with transaction.atomic():
        edit()  # written and row-locked, not yet committed
        thread.start()
        assert ready.wait(WAIT_LIMIT)
        assert not errors, errors
        _wait_until_blocked_on_a_lock(pid[0], thread)
    thread.join(WAIT_LIMIT)
    assert not errors, errors
    return result[0]


def _wait_until_blocked_on_a_lock(pid: int, thread: threading.Thread) -> None:
    # pg_locks is read live (not from a per-transaction snapshot like pg_stat_activity).
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline and thread.is_alive():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    pytest.fail("the ping never queued behind the edit's row lock")


@pytest.fixture
def api(api_token):
    return ApiClient(api_token)


def test_a_first_ping_that_read_the_old_period_takes_its_deadline_from_the_patched_one(make_heartbeat, api):
    heartbeat = make_heartbeat(period=60, grace=30)
    now = timezone.now()

    def patch_period():
        response = api.patch(f"/api/v2/heartbeats/{heartbeat.pk}", {"period": 3600, "grace": 600})
        assert response.status_code == 200, response.content

    ping_id = ping_waiting_for_edit(heartbeat.token, PingData(kind=PingKind.SUCCESS), now, patch_period)

    assert ping_id is not None
    heartbeat.refresh_from_db()
    assert heartbeat.status == HeartbeatStatus.UP
    assert heartbeat.alert_after == now + timedelta(seconds=3600 + 600)


def test_a_recovering_success_that_read_the_old_period_takes_its_deadline_from_the_patched_one(make_heartbeat, api):
    now = timezone.now()
    heartbeat = make_heartbeat(period=60, grace=30, status=HeartbeatStatus.DOWN, last_ping_at=now - timedelta(hours=1))

    def patch_period():
        response = api.patch(f"/api/v2/heartbeats/{heartbeat.pk}", {"period": 86400})
        assert response.status_code == 200, response.content

    ping_waiting_for_edit(heartbeat.token, PingData(kind=PingKind.SUCCESS), now, patch_period)

    heartbeat.refresh_from_db()
    assert (heartbeat.status, heartbeat.alert_after) == (HeartbeatStatus.UP, now + timedelta(seconds=86400 + 30))


def test_a_failure_that_read_no_maintenance_window_opens_no_incident_inside_the_one_patched_in(make_heartbeat, api):
    now = timezone.now()
    heartbeat = make_heartbeat(status=HeartbeatStatus.UP, last_ping_at=now, alert_after=now + timedelta(seconds=90))
    hour_ago, in_an_hour = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()

    def patch_window():
        response = api.patch(
            f"/api/v2/heartbeats/{heartbeat.pk}",
            {
                "maintenance_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "maintenance_from": hour_ago.strftime("%H:%M:%S"),
                "maintenance_to": in_an_hour.strftime("%H:%M:%S"),
                "maintenance_timezone": "UTC",
            },
        )
        assert response.status_code == 200, response.content

    ping_waiting_for_edit(heartbeat.token, PingData(kind=PingKind.FAIL), now, patch_window)

    heartbeat.refresh_from_db()
    assert heartbeat.status == HeartbeatStatus.UP
    assert not Incident.objects.filter(source_type="heartbeat", source_id=heartbeat.pk).exists()
