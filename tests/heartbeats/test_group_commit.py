"""Group commit: the worker's writer thread records queued successes in one statement."""

from datetime import timedelta

import pytest
from django.utils import timezone

from heartbeats.models import Heartbeat, Ping
from heartbeats.ping import PingData
from heartbeats.ping_sql import PingBatcher, write_batch
from tests.heartbeats.conftest import ping_path, served_by_ping_route

SUCCESS = PingData(kind="success", method="GET", remote_addr="192.0.2.1", user_agent="curl/8", body="ok")


@pytest.fixture
def quiet_up(make_heartbeat):
    """An up heartbeat last pinged a minute ago."""

    def make(**fields):
        a_minute_ago = timezone.now() - timedelta(minutes=1)
        fields.setdefault("status", "up")
        return make_heartbeat(last_ping_at=a_minute_ago, alert_after=a_minute_ago + timedelta(seconds=90), **fields)

    return make


def batch_of(*pairs):
    return [(heartbeat.token, ping, now) for heartbeat, ping, now in pairs]


@pytest.mark.django_db
def test_a_batch_records_every_success_and_moves_each_deadline(quiet_up):
    now = timezone.now()
    first, second = quiet_up(name="a"), quiet_up(name="b")

    accepted = write_batch(batch_of((first, SUCCESS, now), (second, SUCCESS, now)))

    assert accepted == {0, 1}
    for heartbeat in (first, second):
        heartbeat.refresh_from_db()
        assert (heartbeat.last_ping_at, heartbeat.alert_after) == (now, now + timedelta(seconds=90))
        ping = Ping.objects.get(heartbeat=heartbeat)
        assert (ping.kind, ping.body, ping.remote_addr, ping.user_agent) == ("success", "ok", "192.0.2.1", "curl/8")


@pytest.mark.django_db
def test_pings_the_batch_cannot_take_are_left_to_the_caller(quiet_up, make_heartbeat):
    now = timezone.now()
    pending = make_heartbeat(name="pending")
    paused = quiet_up(name="paused", paused_at=now)
    cron = quiet_up(name="cron", cron="0 2 * * *")
    down = quiet_up(name="down", status="down")
    up = quiet_up(name="up")

    accepted = write_batch(batch_of(*((hb, SUCCESS, now) for hb in (pending, paused, cron, down, up))))

    assert accepted == {4}
    assert list(Ping.objects.values_list("heartbeat__name", flat=True)) == ["up"]
    assert Heartbeat.objects.get(pk=down.pk).status == "down"


@pytest.mark.django_db
def test_several_pings_of_one_heartbeat_move_it_once_to_the_latest_and_are_all_stored(quiet_up):
    heartbeat = quiet_up()
    now = timezone.now()
    times = [now, now + timedelta(milliseconds=5), now + timedelta(milliseconds=2)]

    accepted = write_batch(batch_of(*((heartbeat, SUCCESS, at) for at in times)))

    assert accepted == {0, 1, 2}
    heartbeat.refresh_from_db()
    assert heartbeat.last_ping_at == times[1]
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 3


@pytest.mark.django_db
def test_a_success_within_a_second_of_the_last_is_stored_without_moving_the_row(make_heartbeat):
    last = timezone.now()
    heartbeat = make_heartbeat(status="up", last_ping_at=last, alert_after=last + timedelta(seconds=90))

    accepted = write_batch(batch_of((heartbeat, SUCCESS, last + timedelta(milliseconds=300))))

    assert accepted == {0}
    heartbeat.refresh_from_db()
    assert heartbeat.alert_after == last + timedelta(seconds=90)
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 1


@pytest.mark.django_db
def test_a_success_finishing_a_started_run_records_its_duration(quiet_up):
    started = timezone.now()
    heartbeat = quiet_up(last_start_at=started)

    write_batch(batch_of((heartbeat, SUCCESS, started + timedelta(seconds=42))))

    heartbeat.refresh_from_db()
    assert heartbeat.last_start_at is None
    assert Ping.objects.get(heartbeat=heartbeat).duration == pytest.approx(42.0)


@pytest.fixture
def batcher():
    batcher = PingBatcher()
    yield batcher
    batcher.stop()


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_answers_true_once_the_ping_is_committed(batcher, quiet_up, make_heartbeat):
    heartbeat = quiet_up()

    assert batcher.record(heartbeat.token, SUCCESS, now=timezone.now()) is True
    assert batcher.record(make_heartbeat(name="pending").token, SUCCESS, now=timezone.now()) is False
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_ping_route_falls_back_to_its_own_path_for_what_the_batch_leaves(make_heartbeat):
    from heartbeats.ping_sql import batcher as process_batcher

    heartbeat = make_heartbeat()
    try:
        first = served_by_ping_route(ping_path(heartbeat))
        again = served_by_ping_route(ping_path(heartbeat))
    finally:
        process_batcher.stop()

    assert (first.status, again.status) == ("200 OK", "200 OK")
    assert Heartbeat.objects.get(pk=heartbeat.pk).status == "up"  # the first, pending, went the plain way
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 2
