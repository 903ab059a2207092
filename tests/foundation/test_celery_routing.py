"""The Celery app knows the design's queues and routes over the real broker."""

import json

from config import broker
from config.celery import app


def test_the_app_declares_a_queue_per_region_and_the_central_queues(settings):
    names = {queue.name for queue in app.conf.task_queues}
    assert names >= {"default", "results", "alerts"} | {f"probe.{r}" for r in settings.PHAROS_REGIONS}


def test_outcomes_are_routed_to_the_results_queue():
    assert app.amqp.router.route({}, broker.RECORD_OUTCOMES_TASK)["queue"].name == "results"


def test_alert_tasks_are_routed_to_the_alerts_queue():
    assert app.amqp.router.route({}, "alerts.deliver")["queue"].name == "alerts"


def test_beat_holds_only_static_ticks():
    for entry in app.conf.beat_schedule.values():
        assert isinstance(entry["schedule"], (int, float))
        assert "args" not in entry and "countdown" not in entry.get("options", {})


def test_a_probe_batch_for_eu_lands_on_probe_eu_in_redis(clean_redis):
    body = {"region": "eu", "expires_at": "2026-11-28T00:00:30Z", "specs": []}
    with app.connection_for_write() as connection:
        app.send_task(broker.RUN_BATCH_TASK, args=[body], queue=broker.probe_queue("eu"), connection=connection)
    assert clean_redis.llen("probe.eu") == 1
    assert clean_redis.llen("probe.us") == 0
    message = json.loads(clean_redis.lindex("probe.eu", 0))
    assert message["headers"]["task"] == broker.RUN_BATCH_TASK
