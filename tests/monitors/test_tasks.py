"""The Celery tasks beat and the region workers name exist, and their payloads are JSON."""

import json
from datetime import timedelta

import pytest

from config.broker import RECORD_OUTCOMES_TASK
from config.celery import app
from monitors import tasks
from monitors.models import Round
from tests.monitors.conftest import message_for, run_round

pytestmark = pytest.mark.django_db


def test_every_monitors_task_beat_schedules_is_registered():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values() if entry["task"].startswith("monitors.")}
    assert scheduled == {
        "monitors.tick",
        "monitors.close_overdue_rounds",
        "monitors.housekeeping",
        "monitors.check_domain_expiry",
    }
    assert scheduled <= set(app.tasks)


def test_the_aggregator_task_has_the_name_region_workers_send_to():
    assert tasks.record_outcomes.name == RECORD_OUTCOMES_TASK
    assert app.tasks[RECORD_OUTCOMES_TASK].name == RECORD_OUTCOMES_TASK


def test_the_aggregator_task_takes_a_results_message_round_tripped_through_json(make_monitor, settings):
    from django.utils import timezone

    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    monitor = make_monitor()
    round_ = run_round(monitor, now=timezone.now())
    for region in ("us", "eu", "as"):
        summary = tasks.record_outcomes.run(json.loads(json.dumps(message_for(round_, region, "up"))))
        assert summary["stored"] == 1
    assert Round.objects.get(pk=round_.pk).verdict == "up"


def test_the_tick_task_dispatches_due_monitors(make_monitor, clean_redis):
    from django.utils import timezone

    monitor = make_monitor(next_check_at=timezone.now() - timedelta(seconds=1))
    assert tasks.tick.run()["dispatched"] == 1
    assert Round.objects.filter(monitor=monitor).exists()
    assert clean_redis.llen("probe.us") == 1
