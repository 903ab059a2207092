"""Pruning keeps the newest pings of each heartbeat; the beat ticks run under their names."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app, beat_schedule
from heartbeats.models import Ping
from heartbeats.prune import prune_pings

pytestmark = pytest.mark.django_db


def add_pings(heartbeat, count):
    now = timezone.now()
    Ping.objects.bulk_create(
        Ping(heartbeat=heartbeat, created_at=now + timedelta(seconds=i), kind="success", method="GET", body=str(i))
        for i in range(count)
    )


def test_pruning_keeps_the_newest_pings_of_each_heartbeat(make_heartbeat):
    busy, quiet = make_heartbeat(name="busy"), make_heartbeat(name="quiet")
    add_pings(busy, 15)
    add_pings(quiet, 3)

    deleted = prune_pings(kept=10)

    assert deleted == 5
    assert sorted(int(body) for body in busy.pings.values_list("body", flat=True)) == list(range(5, 15))
    assert quiet.pings.count() == 3


def test_pruning_walks_every_chunk_of_heartbeats(make_heartbeat):
    heartbeats = [make_heartbeat(name=f"job {i}") for i in range(5)]
    for heartbeat in heartbeats:
        add_pings(heartbeat, 4)

    assert prune_pings(kept=2, chunk_size=2) == 10
    assert all(heartbeat.pings.count() == 2 for heartbeat in heartbeats)


def test_pruning_nothing_to_prune_deletes_nothing(heartbeat):
    add_pings(heartbeat, 2)

    assert prune_pings(kept=2) == 0


@pytest.fixture(autouse=True)
def discovered_tasks():
    # What a worker does at start-up: import every app's tasks module.
    app.loader.import_default_modules()


@pytest.mark.parametrize("name", ["heartbeats.sweep", "heartbeats.prune_pings"])
def test_the_beat_schedule_names_a_registered_task(name):
    assert name in {entry["task"] for entry in beat_schedule().values()}
    assert name in app.tasks


def test_the_sweep_task_reports_in_plain_json(up_heartbeat):
    from heartbeats.models import Heartbeat

    Heartbeat.objects.filter(pk=up_heartbeat.pk).update(alert_after=timezone.now() - timedelta(seconds=1))

    result = app.tasks["heartbeats.sweep"].apply().get()

    assert json.loads(json.dumps(result)) == {"went_down": 1, "postponed": 0, "failed": 0}


def test_the_prune_task_keeps_the_configured_number(heartbeat, settings):
    settings.PHAROS_PINGS_KEPT = 1
    add_pings(heartbeat, 3)

    assert app.tasks["heartbeats.prune_pings"].apply().get() == {"deleted": 2}
    assert heartbeat.pings.count() == 1
