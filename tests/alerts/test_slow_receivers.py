"""A slow receiver delays only its own notifications: not another channel's, not a tick.

Real Celery workers started as `make run` starts them, a real loopback receiver that holds
every request until the test lets it answer, the real database and Redis.
"""

import os
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.delivery import enqueue
from alerts.models import Channel, Notification, NotificationStatus
from config import supervisor
from monitors.models import Monitor, Round
from tests.alerts.conftest import database_url, wait_until
from tests.processes import stop_process_groups

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PROJECT_DIR = Path(__file__).resolve().parents[2]
SLOW_ROWS = 6
# Long enough that nothing times out while the test holds the slow receiver.
PATIENT = {"PHAROS_ALERT_HTTP_TIMEOUT": "90", "PHAROS_ALERT_DEADLINE": "90", "PHAROS_ALERT_PER_DESTINATION": "4"}


@pytest.fixture
def make_run_workers(redis_url, clean_redis):
    """Start the control plane's Celery workers exactly as `make run` does (its argv),
    except the aggregator; they share this test's database and Redis."""
    started = []

    def start(env=None):
        base = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "test"),
            "PHAROS_IGNORE_DOTENV": "1",
            "PHAROS_ALLOW_PRIVATE_TARGETS": "1",
            "PHAROS_DB_CONN_MAX_AGE": "0",
            **(env or {}),
        }
        for process in supervisor.processes(["us", "eu", "as"], "0"):
            is_worker = "worker" in process.argv and "config.celery" in process.argv
            if is_worker and process.name != "aggregator":
                started.append(
                    subprocess.Popen(
                        process.argv,
                        cwd=PROJECT_DIR,
                        env=base,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
        return started

    try:
        yield start
    finally:
        stop_process_groups(started, grace=30)


@pytest.fixture
def held():
    """The slow receiver's gate: closed during the test, always opened at teardown."""
    gate = threading.Event()
    yield gate
    gate.set()


def rows_to(channel):
    return Notification.objects.filter(channel=channel)


def test_a_fast_channel_is_alerted_while_a_slow_receiver_holds_every_delivery_owed_to_it(
    team, open_down, http_receiver, held, make_run_workers
):
    slow = http_receiver(hold=held)
    slow_channel = Channel.objects.create(team=team, kind="webhook", config={"url": slow.url + "/slow"})
    now = timezone.now()
    for _ in range(SLOW_ROWS):
        open_down(now, email=False)
    assert rows_to(slow_channel).count() == SLOW_ROWS
    make_run_workers(PATIENT)
    # Every slow row is taken up that the per-destination cap allows; the rest wait unclaimed.
    assert wait_until(lambda: slow.held >= 4, timeout=60), slow.held

    fast = http_receiver()
    slow_channel.enabled = False  # the next incident alerts the fast channel only
    slow_channel.save(update_fields=["enabled"])
    fast_channel = Channel.objects.create(team=team, kind="webhook", config={"url": fast.url + "/fast"})
    open_down(timezone.now(), email=False)
    assert wait_until(lambda: rows_to(fast_channel).filter(status=NotificationStatus.DELIVERED).exists(), timeout=60), (
        list(rows_to(fast_channel).values_list("status", "last_error"))
    )

    # Meanwhile the slow receiver still holds its requests: none was answered or given up on,
    # and no more than the per-destination cap of them were ever open at once.
    assert slow.held == 4
    statuses = sorted(rows_to(slow_channel).values_list("status", flat=True))
    assert statuses == ["pending"] * (SLOW_ROWS - 4) + ["sending"] * 4
    assert not rows_to(slow_channel).exclude(last_error="").exists()

    slow_channel.enabled = True
    slow_channel.save(update_fields=["enabled"])
    held.set()
    assert wait_until(
        lambda: rows_to(slow_channel).filter(status=NotificationStatus.DELIVERED).count() == SLOW_ROWS, timeout=90
    ), list(rows_to(slow_channel).values_list("status", "last_error"))
    # Each owed delivery reached the slow receiver exactly once.
    deliveries = sorted(request.headers["x-pharos-delivery"] for request in slow.requests)
    assert deliveries == sorted(str(pk) for pk in rows_to(slow_channel).values_list("pk", flat=True))


def test_a_tick_dispatches_due_monitors_while_slow_receivers_hold_every_delivery(
    team, open_down, http_receiver, held, make_run_workers
):
    from monitors.tasks import tick

    slow = http_receiver(hold=held)
    Channel.objects.create(team=team, kind="webhook", config={"url": slow.url + "/slow"})
    now = timezone.now()
    for _ in range(SLOW_ROWS):
        open_down(now, email=False)
    make_run_workers(PATIENT)
    assert wait_until(lambda: slow.held >= 2, timeout=60), slow.held
    ids = list(Notification.objects.values_list("pk", flat=True))
    enqueue(ids)  # the escalation sweeper's re-enqueue: more deliveries waiting on the receiver

    monitor = Monitor.objects.create(
        team=team,
        url="https://service.example.com/health",
        check_frequency=30,
        next_check_at=timezone.now() - timedelta(seconds=1),
        regions=["us", "eu", "as"],
    )
    tick.delay()
    assert wait_until(lambda: Round.objects.filter(monitor=monitor).exists(), timeout=60)
    # The receiver still holds every request it got: the tick did not wait for any of them.
    assert not Notification.objects.exclude(status__in=["pending", "sending"]).exists()


def test_warm_shutdown_puts_claimed_rows_that_were_not_sent_back_in_the_outbox(team, open_down, http_receiver, held):
    """In-process: the sender's own stop, with a grace shorter than the slow receiver."""
    from alerts.sender import Sender

    slow = http_receiver(hold=held)
    channel = Channel.objects.create(team=team, kind="webhook", config={"url": slow.url + "/slow"})
    now = timezone.now()
    for _ in range(3):
        open_down(now, email=False)
    ids = list(rows_to(channel).values_list("pk", flat=True))
    sender = Sender(per_destination=2).start()
    for pk in ids:
        sender.submit(pk)
    assert wait_until(lambda: slow.held == 2, timeout=30)
    sender.stop(grace=0.5)

    # The two claimed rows went back as never tried; the third was never claimed.
    rows = list(rows_to(channel).values_list("status", "attempts"))
    assert rows == [("pending", 0)] * 3
    assert sender.returned == 2


def test_a_team_whose_receivers_hang_does_not_hold_up_another_teams_alert(team, open_down, http_receiver, held):
    """In-process sender with 4 slots, 2 per destination: team A's two hanging receivers
    could hold all four. A team alone keeps one in reserve, so team B's alert goes at once."""
    from alerts.incidents import Alerting, IncidentFacts, open_incident
    from alerts.sender import Sender
    from teams.models import Team

    slow = [http_receiver(hold=held) for _ in range(2)]
    slow_channels = [
        Channel.objects.create(team=team, kind="webhook", name=f"slow {n}", config={"url": receiver.url + "/"})
        for n, receiver in enumerate(slow)
    ]
    other = Team.objects.create(name="Team B")
    fast = http_receiver()
    fast_channel = Channel.objects.create(team=other, kind="webhook", name="fast", config={"url": fast.url + "/"})
    now = timezone.now()
    for _ in range(3):
        open_down(now, email=False)
    open_incident(
        team_id=other.pk,
        source_type="monitor",
        source_id=1,
        facts=IncidentFacts(cause="Status 503", name="b.example.com"),
        alerting=Alerting(email=False),
        now=now,
    )
    slow_ids = list(Notification.objects.filter(channel__in=slow_channels).values_list("pk", flat=True))
    [fast_id] = rows_to(fast_channel).values_list("pk", flat=True)
    sender = Sender(concurrency=4, per_destination=2).start()
    try:
        sender.submit(*slow_ids)
        assert wait_until(lambda: sum(receiver.held for receiver in slow) == 3, timeout=30)
        sender.submit(fast_id)
        assert wait_until(lambda: len(fast.requests) == 1, timeout=10)
        # Team A's receivers still hold every request they got: nothing of theirs was answered.
        assert sum(receiver.held for receiver in slow) == 3
        assert not any(receiver.requests for receiver in slow)
    finally:
        held.set()
        sender.stop(grace=5)
