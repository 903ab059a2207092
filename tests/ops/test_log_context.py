"""Structured logs from real code paths: each JSON line names the monitor, round, region,
heartbeat or incident it concerns (issue #8, item 4)."""

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery

from alerts.delivery import deliver
from alerts.models import Channel, Notification, NotificationStatus
from config.broker import RESULTS_QUEUE, RUN_BATCH_TASK, probe_queue
from config.logging import JsonFormatter
from heartbeats.models import Heartbeat
from heartbeats.sweep import sweep
from monitors import quarantine
from monitors.models import Monitor, RegionQuarantine, RoundVerdict
from probes.engine import new_event_loop
from probes.runner import ProbeContext, Runner
from probes.spec import CheckSpec, batch_message
from tests.alerts.conftest import T0 as ALERT_T0
from tests.alerts.conftest import http_receiver, open_down  # noqa: F401 (fixtures)
from tests.monitors.conftest import T0, play

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines(caplog, monkeypatch):
    """The JSON lines the code under test logs (INFO and up), as dicts, in a Django process
    that is no region worker."""
    monkeypatch.delenv("PHAROS_REGION", raising=False)
    caplog.handler.setFormatter(JsonFormatter())
    caplog.set_level(logging.INFO)

    def lines(containing=""):
        parsed = [json.loads(line) for line in caplog.text.splitlines() if line.startswith("{")]
        return [line for line in parsed if containing in line["message"]]

    return lines


def make_monitor(team, **fields):
    fields.setdefault("regions", ["us", "eu", "as"])
    return Monitor.objects.create(
        team=team,
        url="https://api.example.com/health",
        check_frequency=30,
        confirmation_period=0,
        recovery_period=0,
        next_check_at=T0,
        **fields,
    )


@pytest.mark.django_db
def test_the_aggregator_opening_an_incident_logs_the_monitor_round_and_incident(team, json_lines):
    monitor = make_monitor(team)

    round_ = play(monitor, T0, {"us": "down", "eu": "down", "as": "up"})

    (line,) = json_lines("opened")
    assert monitor.status == "down"
    assert (line["monitor"], line["round"], line["team"]) == (monitor.pk, round_.scheduled_at.isoformat(), team.pk)
    assert line["incident"] > 0 and line["level"] == "INFO" and line["logger"] == "monitors.state"


@pytest.mark.django_db
def test_the_aggregator_resolving_an_incident_logs_the_monitor_round_and_incident(team, json_lines):
    monitor = make_monitor(team)
    play(monitor, T0, {"us": "down", "eu": "down", "as": "up"})
    (opened,) = json_lines("opened")

    recovery = play(monitor, T0 + timedelta(seconds=30), {"us": "up", "eu": "up", "as": "up"})

    (line,) = json_lines("resolved")
    assert monitor.status == "up"
    assert (line["monitor"], line["round"], line["incident"]) == (
        monitor.pk,
        recovery.scheduled_at.isoformat(),
        opened["incident"],
    )


@pytest.mark.django_db
def test_a_round_closed_inconclusive_logs_its_monitor_round_and_silent_region(team, json_lines):
    # Two regions, a majority of two: one DOWN vote and a silent region cannot decide.
    monitor = make_monitor(team, regions=["us", "eu"])

    round_ = play(monitor, T0, {"us": "down"})

    (line,) = json_lines("inconclusive")
    assert round_.verdict == RoundVerdict.INCONCLUSIVE
    assert (line["monitor"], line["round"], line["region"]) == (monitor.pk, round_.scheduled_at.isoformat(), "eu")


@pytest.mark.django_db
def test_a_failed_alert_delivery_logs_its_incident(team, open_down, http_receiver, json_lines):  # noqa: F811
    receiver = http_receiver()
    receiver.statuses = [503]
    Channel.objects.create(team=team, kind="webhook", config={"url": receiver.url + "/hook"})
    incident = open_down(email=False)
    row = Notification.objects.get(incident=incident)

    assert deliver(row.pk, now=ALERT_T0) == NotificationStatus.PENDING

    (line,) = json_lines(f"notification {row.pk}")
    assert (line["incident"], line["level"], line["extra"]["notification"]) == (incident.pk, "WARNING", row.pk)


@pytest.mark.django_db
def test_a_heartbeat_swept_down_logs_the_heartbeat_and_its_incident(team, json_lines):
    now = datetime.now(UTC)
    heartbeat = Heartbeat.objects.create(
        team=team,
        name="nightly backup",
        period=60,
        grace=30,
        status="up",
        last_ping_at=now - timedelta(minutes=5),
        alert_after=now - timedelta(minutes=3),
    )

    report = sweep(now=now)

    (line,) = json_lines("heartbeat")
    assert report.went_down == 1
    assert (line["heartbeat"], line["team"], line["level"]) == (heartbeat.pk, team.pk, "INFO")
    assert line["incident"] > 0


@pytest.mark.django_db
def test_a_region_quarantined_and_released_is_named_on_both_lines(settings, json_lines):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    try:
        assert quarantine.quarantine("as", reason=RegionQuarantine.Reason.CANARY, details={}, now=T0)
        quarantine.release(RegionQuarantine.objects.get(region="as"), now=T0 + timedelta(minutes=6), why="quiet")
    finally:
        quarantine.forget_cache()

    (quarantined,) = json_lines("quarantined")
    (released,) = json_lines("released")
    assert (quarantined["region"], quarantined["level"]) == ("as", "WARNING")
    assert (released["region"], released["level"]) == ("as", "INFO")


def test_a_malformed_check_spec_is_logged_with_its_monitor_round_and_region(json_lines):
    runner_region = "eu"
    scheduled_at = T0.isoformat()

    async def run():
        runner = Runner(ProbeContext(region=runner_region), concurrency=1)
        return await runner.run_batch([{"monitor_id": 12, "scheduled_at": scheduled_at, "type": "status"}])

    with asyncio.Runner(loop_factory=new_event_loop) as loop:
        (outcome,) = loop.run(run())

    (line,) = json_lines("malformed")
    assert outcome.status == "error"
    assert (line["monitor"], line["round"], line["region"], line["level"]) == (12, scheduled_at, runner_region, "ERROR")


# The region worker is Django-free and has its own Celery app: its lines must be JSON too.
WORKER_REGION = "logs"


def read_json_lines(path):
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except ValueError:
                pass
    return lines


@pytest.mark.slow
def test_the_region_worker_logs_json_lines_naming_its_region(redis_url, clean_redis, tmp_path):
    log = tmp_path / "worker.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PHAROS_"))}
    env.update(REDIS_URL=redis_url, PHAROS_REGION=WORKER_REGION, PHAROS_LOG_JSON="1", PYTHONPATH=str(PROJECT_DIR))
    with open(log, "wb") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "probes.worker",
                "worker",
                "-Q",
                probe_queue(WORKER_REGION),
                "-n",
                "probe-logs-test@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    sender = Celery("pharos-test-sender", broker=redis_url)
    sender.conf.update(task_serializer="json", accept_content=["json"])
    try:
        expired = datetime.now(UTC) - timedelta(seconds=5)
        spec = CheckSpec(
            monitor_id=9, scheduled_at=T0.isoformat(), type="status", target="http://127.0.0.1:9/", timeout=5.0
        )
        message = batch_message(region=WORKER_REGION, specs=[spec, spec], expires_at=expired.isoformat())
        # Celery's own `expires` (as the scheduler sends it): the worker drops it unrun.
        sender.send_task(RUN_BATCH_TASK, args=[message], queue=probe_queue(WORKER_REGION), expires=expired)

        deadline = time.monotonic() + 30
        dropped = []
        while not dropped and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()[-3000:]
            dropped = [line for line in read_json_lines(log) if "dropped an expired batch" in line["message"]]
            time.sleep(0.1)
        assert dropped, f"no JSON line about the dropped batch within 30 s:\n{log.read_text()[-3000:]}"
        (line,) = dropped
        assert (line["region"], line["level"], line["logger"]) == (WORKER_REGION, "WARNING", "probes.worker")
        # Celery's own lines (the worker's "ready") are JSON and name the region too.
        ready = [line for line in read_json_lines(log) if line["message"].endswith("ready.")]
        assert ready and ready[0]["region"] == WORKER_REGION
        assert clean_redis.llen(RESULTS_QUEUE) == 1
    finally:
        sender.close()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
