"""The Celery app knows the design's queues and routes over the real broker."""

import json

from config import broker
from config.celery import app


def test_the_app_declares_a_queue_per_region_and_the_central_queues(settings):
    names = {queue.name for queue in app.conf.task_queues}
    assert names >= {"default", "schedule", "housekeeping", "results", "alerts"} | {
        f"probe.{r}" for r in settings.PHAROS_REGIONS
    }


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


def route(name):
    return app.amqp.router.route({}, name)["queue"].name


def test_the_scheduler_tasks_have_a_queue_of_their_own():
    # Its worker runs nothing else: nothing a receiver or a target does can delay a tick.
    for name in (
        "monitors.tick",
        "monitors.close_overdue_rounds",
        "heartbeats.sweep",
        "alerts.escalate",
        "status.tell_scheduled_reports",
    ):
        assert route(name) == "schedule", name


def test_housekeeping_tasks_go_to_the_housekeeping_queue():
    for name in ("monitors.housekeeping", "monitors.check_domain_expiry", "heartbeats.prune_pings"):
        assert route(name) == "housekeeping", name


def test_only_delivery_is_left_on_the_alerts_queue():
    from config.celery import HOUSEKEEPING_TASKS, SCHEDULE_TASKS

    app.loader.import_default_modules()  # what a worker does at start: every app's tasks
    periodic = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert periodic <= set(SCHEDULE_TASKS) | set(HOUSEKEEPING_TASKS)
    assert [name for name in app.tasks if route(name) == "alerts"] == ["alerts.deliver"]
