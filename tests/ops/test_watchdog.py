"""The watchdog (config.watchdog, ``manage.py watchdog``): a stuck part of the pipeline
reaches the operators by plain SMTP (a real aiosmtpd server here), once when it starts
and once when it clears, and the watchdog URL (a loopback heartbeat service) is called
only while everything is healthy.

The stuck parts are real: nothing runs the sweep or the tick in these tests, so an
overdue heartbeat stays up and an overdue monitor stays undispatched, exactly as when
beat is stopped.

`make test-sqlite` runs this file on the quick start's configuration too (SQLite and the
on-disk broker), so the watchdog's SQLite side runs under a test; the tests that need
PostgreSQL itself (a table lock, a real process on the test database) skip there."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.utils import timezone

from config.watchdog import STUCK, Watchdog
from heartbeats.models import Heartbeat
from heartbeats.sweep import sweep
from monitors.models import Monitor
from tests.backends import ON_SQLITE
from tests.monitors.conftest import database_url_of_test_database
from tests.ops.servers import spare_port, wait_for
from tests.ops.watchers import DeadMansSwitch, OperatorInbox
from tests.processes import stop_process

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT_DIR = Path(__file__).resolve().parents[2]
OPERATOR = "ops@example.com"

needs_postgresql = pytest.mark.skipif(
    ON_SQLITE, reason="PostgreSQL itself: a table lock, or a real process on the test database"
)


@pytest.fixture
def inbox(settings):
    inbox = OperatorInbox().start()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = inbox.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.PHAROS_OPERATOR_EMAIL = [OPERATOR]
    yield inbox
    inbox.stop()


@pytest.fixture
def switch():
    switch = DeadMansSwitch().start()
    yield switch
    switch.close()


@pytest.fixture
def broker(settings, tmp_path, request):
    """The broker the watchdog looks at: the suite's own Redis database, emptied, or on
    SQLite an on-disk broker folder of the test's own, as the quick start has."""
    if ON_SQLITE:
        folders = {name: tmp_path / "broker" / name for name in ("out", "processed", "control")}
        for folder in folders.values():
            folder.mkdir(parents=True)
        settings.CELERY_BROKER_URL = "filesystem://"
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(folders["out"]),
            "data_folder_out": str(folders["out"]),
            "processed_folder": str(folders["processed"]),
            "control_folder": str(folders["control"]),
        }
    else:
        settings.CELERY_BROKER_URL = request.getfixturevalue("redis_url")
        request.getfixturevalue("clean_redis")


@pytest.fixture
def watchdog(broker, switch):
    dog = Watchdog(interval=10, ping_url=switch.url, ping_interval=0, grace=0)
    yield dog
    dog.close()


def stalled_sweep(team):
    """A heartbeat whose deadline passed five minutes ago and that nobody swept."""
    return Heartbeat.objects.create(
        team=team, name="nightly backup", status="up", alert_after=timezone.now() - timedelta(minutes=5)
    )


def test_a_healthy_pipeline_calls_the_watchdog_url_and_mails_nobody(watchdog, inbox, switch):
    step = watchdog.step()
    assert (step.failing, step.pinged) == ([], True)
    assert switch.count() == 1
    assert inbox.subjects() == []


def test_a_stalled_sweep_is_mailed_once_stops_the_pings_and_is_mailed_again_when_it_clears(
    watchdog, inbox, switch, team
):
    heartbeat = stalled_sweep(team)

    step = watchdog.step()
    again = watchdog.step()

    assert (step.failing, step.raised, step.pinged) == (["sweep"], ["sweep"], False)
    assert (again.raised, again.pinged) == ([], False)  # once per condition
    message = inbox.wait_for_subject("[Pharos] failing: sweep", timeout=10)
    assert inbox.recipients == [[OPERATOR]]
    assert "a heartbeat has been overdue for" in message.get_payload()
    assert switch.count() == 0

    sweep(now=timezone.now())  # the sweep runs again: the heartbeat goes down as it should
    assert Heartbeat.objects.get(pk=heartbeat.pk).status == "down"
    recovered = watchdog.step()

    assert (recovered.failing, recovered.cleared, recovered.pinged) == ([], ["sweep"], True)
    inbox.wait_for_subject("[Pharos] recovered: sweep", timeout=10)
    assert len(inbox.subjects()) == 2 and switch.count() == 1


def test_a_silent_region_is_named_in_the_operators_mail(watchdog, inbox, team):
    monitor = Monitor.objects.create(team=team, url="https://example.com/", regions=["eu"])
    Monitor.objects.filter(pk=monitor.pk).update(created_at=timezone.now() - timedelta(hours=1))

    assert watchdog.step().raised == ["region:eu"]
    message = inbox.wait_for_subject("region:eu", timeout=10)
    assert "no results yet" in message.get_payload()


def test_a_condition_failing_during_the_start_up_grace_is_mailed_only_once_the_grace_is_over(
    broker, switch, inbox, team
):
    stalled_sweep(team)
    dog = Watchdog(interval=10, ping_url=switch.url, ping_interval=0, grace=3600)
    try:
        during = dog.step()
        assert (during.failing, during.raised, during.pinged) == (["sweep"], [], False)
        dog.grace_ends = 0.0  # the hour has passed
        assert dog.step().raised == ["sweep"]
        inbox.wait_for_subject("[Pharos] failing: sweep", timeout=10)
        assert len(inbox.subjects()) == 1
    finally:
        dog.close()


def test_without_configured_addresses_the_superusers_are_told(watchdog, inbox, team, settings, django_user_model):
    settings.PHAROS_OPERATOR_EMAIL = []
    django_user_model.objects.create_superuser("root", "root@example.com", "x" * 12)
    stalled_sweep(team)
    watchdog.step()
    inbox.wait_for_subject("failing: sweep", timeout=10)
    assert inbox.recipients == [["root@example.com"]]


def test_a_mail_that_cannot_be_sent_is_tried_again_at_the_next_evaluation(watchdog, inbox, team, settings):
    stalled_sweep(team)
    settings.EMAIL_PORT = spare_port()  # the mail server is down
    assert watchdog.step().raised == []
    settings.EMAIL_PORT = inbox.port
    assert watchdog.step().raised == ["sweep"]
    inbox.wait_for_subject("failing: sweep", timeout=10)


@needs_postgresql
def test_an_evaluation_stuck_behind_a_lock_is_reported_instead_of_stalling_the_watchdog(broker, inbox, switch):
    dog = Watchdog(interval=1.0, ping_url=switch.url, ping_interval=0, grace=0)
    locker = psycopg.connect(database_url_of_test_database(), autocommit=False)
    recovered = []
    try:
        # Another session holds the heartbeats table: the sweep's figure cannot be read.
        locker.execute("LOCK TABLE heartbeats_heartbeat IN ACCESS EXCLUSIVE MODE")
        step = dog.step()
        assert (step.failing, step.raised, step.pinged) == ([STUCK], [STUCK], False)
        inbox.wait_for_subject(f"failing: {STUCK}", timeout=10)
        locker.rollback()
        for _ in range(10):  # the stuck evaluation ends (statement timeout); the next is clean
            step = dog.step()
            recovered += step.cleared
            if not step.failing:
                break
    finally:
        locker.close()
        dog.close()
    assert STUCK in recovered
    inbox.wait_for_subject(f"recovered: {STUCK}", timeout=10)


# --- the real process -----------------------------------------------------------------------


@needs_postgresql
@pytest.mark.slow
def test_the_watchdog_process_mails_a_stopped_scheduler_and_stops_pinging_until_it_recovers(
    team, redis_url, clean_redis, inbox, switch, tmp_path
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHAROS_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url_of_test_database(),
        REDIS_URL=redis_url,
        SECRET_KEY="pharos-watchdog-test",
        PHAROS_IGNORE_DOTENV="1",
        PHAROS_DB_CONN_MAX_AGE="0",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(inbox.port),
        PHAROS_OPERATOR_EMAIL=OPERATOR,
        PHAROS_WATCHDOG_URL=switch.url,
        PHAROS_WATCHDOG_INTERVAL="0.5",
        PHAROS_WATCHDOG_PING_INTERVAL="0.5",
        PHAROS_WATCHDOG_GRACE="0",
        PHAROS_WATCH_SCHEDULER_LAG="5",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "watchdog.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "watchdog"], cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: switch.count() >= 2, timeout=60, what=f"pings while healthy\n{log.read_text()}")

        # A monitor due a minute ago that no tick dispatches: the scheduler is stopped.
        Monitor.objects.create(
            team=team, url="https://example.com/", next_check_at=timezone.now() - timedelta(minutes=1)
        )
        inbox.wait_for_subject("[Pharos] failing: scheduler", timeout=60, what=log.read_text())
        silent_since = time.monotonic()
        time.sleep(3)  # six evaluations
        assert switch.calls_since(silent_since) == []

        Monitor.objects.update(paused_at=timezone.now())  # nothing waits for the scheduler any more
        inbox.wait_for_subject("[Pharos] recovered: scheduler", timeout=60, what=log.read_text())
        resumed = time.monotonic()
        wait_for(lambda: switch.calls_since(resumed), timeout=30, what="the pings to resume")
        assert process.poll() is None
    finally:
        stop_process(process, grace=10)
    assert process.returncode == 0, log.read_text()
