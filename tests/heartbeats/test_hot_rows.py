"""Pings within a second of the last one are stored without rewriting the heartbeat's row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from heartbeats.models import Heartbeat, Ping
from heartbeats.ping import PingData, record_ping
from tests.backends import postgresql_only

pytestmark = pytest.mark.django_db

SUCCESS = PingData(kind="success")


@pytest.fixture
def up_heartbeat(make_heartbeat):
    """Up, last pinged a minute ago: the next ping is a fresh one."""
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    return make_heartbeat(status="up", last_ping_at=a_minute_ago, alert_after=a_minute_ago + timedelta(seconds=90))


def reload(heartbeat):
    return Heartbeat.objects.get(pk=heartbeat.pk)


@postgresql_only
def test_a_success_within_a_second_of_the_last_is_stored_without_moving_the_deadline(up_heartbeat):
    first = timezone.now()
    record_ping(up_heartbeat.token, SUCCESS, now=first)

    record_ping(up_heartbeat.token, SUCCESS, now=first + timedelta(milliseconds=400))

    heartbeat = reload(up_heartbeat)
    assert (heartbeat.last_ping_at, heartbeat.alert_after) == (first, first + timedelta(seconds=90))
    assert Ping.objects.filter(heartbeat=heartbeat).count() == 2


def test_a_success_more_than_a_second_later_moves_the_deadline(up_heartbeat):
    first = timezone.now()
    record_ping(up_heartbeat.token, SUCCESS, now=first)
    later = first + timedelta(seconds=1, milliseconds=1)

    record_ping(up_heartbeat.token, SUCCESS, now=later)

    assert reload(up_heartbeat).alert_after == later + timedelta(seconds=90)


def test_a_finish_right_after_a_start_is_never_coalesced(up_heartbeat):
    started = timezone.now()
    record_ping(up_heartbeat.token, PingData(kind="start"), now=started)

    record_ping(up_heartbeat.token, SUCCESS, now=started + timedelta(milliseconds=200))

    heartbeat = reload(up_heartbeat)
    assert heartbeat.last_start_at is None
    assert Ping.objects.get(heartbeat=heartbeat, kind="success").duration == pytest.approx(0.2)


def test_a_failure_right_after_a_success_still_takes_it_down(up_heartbeat):
    first = timezone.now()
    record_ping(up_heartbeat.token, SUCCESS, now=first)

    record_ping(up_heartbeat.token, PingData(kind="fail"), now=first + timedelta(milliseconds=100))

    assert reload(up_heartbeat).status == "down"


def test_cron_heartbeats_are_never_coalesced(make_heartbeat):
    heartbeat = make_heartbeat(status="up", cron="* * * * *", grace=0)
    first = timezone.now().replace(second=59, microsecond=500_000)
    record_ping(heartbeat.token, SUCCESS, now=first)

    # The next minute has begun: the next run is due a minute later than before.
    record_ping(heartbeat.token, SUCCESS, now=first + timedelta(milliseconds=600))

    assert reload(heartbeat).alert_after == (first + timedelta(minutes=2)).replace(second=0, microsecond=0)
