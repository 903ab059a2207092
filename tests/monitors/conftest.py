"""Fixtures for the scheduler / aggregator suite: monitors, rounds, outcomes, a real
aggregator worker process."""

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from monitors import quarantine, scheduler
from monitors.models import Monitor, Round
from probes.spec import Outcome, results_message
from tests.processes import stop_process

PROJECT = Path(__file__).resolve().parents[2]
REGIONS = ("us", "eu", "as")
T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_quarantine_cache():
    # The active-quarantine set is cached per process for a couple of seconds.
    quarantine.forget_cache()
    yield
    quarantine.forget_cache()


@pytest.fixture
def make_monitor(team):
    def make(**fields):
        fields.setdefault("url", f"https://service-{Monitor.objects.count() + 1}.example.com/health")
        fields.setdefault("check_frequency", 30)
        fields.setdefault("recovery_period", 0)
        fields.setdefault("next_check_at", T0)
        fields.setdefault("regions", list(REGIONS))
        return Monitor.objects.create(team=team, **fields)

    return make


def run_round(monitor, *, now, publish=False):
    """Dispatch the monitor's due round through the real tick; returns the Round row."""
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=now)
    report = scheduler.tick(now=now, publish=publish)
    assert monitor.pk in report.monitor_ids
    return Round.objects.get(monitor=monitor, scheduled_at=now)


def outcome(round_, region, status, *, cause="", **extra):
    if status == "down" and not cause:
        cause = "Status 503"
    return Outcome(
        monitor_id=round_.monitor_id,
        scheduled_at=round_.scheduled_at.isoformat(),
        region=region,
        status=status,
        cause=cause,
        status_code=extra.pop("status_code", 503 if status == "down" else 200),
        response_time=extra.pop("response_time", 0.05),
        checked_at=extra.pop("checked_at", round_.scheduled_at.isoformat()),
        **extra,
    )


def message_for(round_, region, status, **extra):
    return results_message(region=region, outcomes=[outcome(round_, region, status, **extra)])


def wait_for(predicate, *, timeout=30.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def database_url_of_test_database():
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def start_worker(queues, *, name, log):
    """A real Celery worker of the control plane on the test database."""
    env = dict(os.environ)
    env.pop("PHAROS_TEST_DB_NAME", None)
    env.update(
        DATABASE_URL=database_url_of_test_database(),
        PHAROS_IGNORE_DOTENV="1",
        SECRET_KEY=env.get("SECRET_KEY") or "pharos-test-secret-key",
        PHAROS_DB_CONN_MAX_AGE="0",
        LOG_LEVEL="INFO",
        PHAROS_REGIONS=",".join(REGIONS),
    )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config.celery",
        "worker",
        "-Q",
        queues,
        "--pool=solo",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"{name}-{os.getpid()}@%h",
        "--loglevel=INFO",
    ]
    return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def results_worker(django_db_setup, django_db_blocker):
    """A real aggregator (``celery worker -Q results``) for the module's tests."""
    if "postgresql" not in django_settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("the aggregator worker tests need PostgreSQL (DATABASE_URL)")
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete("results")
    log = tempfile.NamedTemporaryFile(prefix="pharos-results-worker-", suffix=".log", delete=False)
    process = start_worker("results", name="aggregator", log=log)
    try:
        wait_for(
            lambda: b"ready." in Path(log.name).read_bytes() or process.poll() is not None,
            timeout=60,
            interval=0.2,
            what="the results worker to start",
        )
        if process.poll() is not None:
            raise AssertionError("results worker exited:\n" + Path(log.name).read_text()[-3000:])
        yield process
    finally:
        stop_process(process)
        log.close()
        os.unlink(log.name)


def play(monitor, at, votes, *, answered_after=timedelta(seconds=2)):
    """One round at ``at`` through the real tick and the aggregator, in this process.

    Regions missing from ``votes`` stay silent; the round then closes at its deadline.
    """
    from monitors.aggregator import close_overdue_rounds, record_outcomes

    round_ = run_round(monitor, now=at)
    for region, status in votes.items():
        record_outcomes(message_for(round_, region, status), now=at + answered_after)
    if len(votes) < len(round_.regions):
        close_overdue_rounds(now=round_.deadline + timedelta(seconds=1))
    round_.refresh_from_db()
    monitor.refresh_from_db()
    return round_


DOWN_TWICE = {"us": "down", "eu": "down", "as": "up"}
ALL_UP = {"us": "up", "eu": "up", "as": "up"}
