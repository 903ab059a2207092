"""The Celery app of the control plane: beat, the aggregator and the alert workers.

Region workers do not use this app (they have no Django and no database); they run
``probes.worker``, which shares the broker settings and queue names from config.broker.
"""

import os
from collections.abc import Iterable
from typing import Any

from celery import Celery
from kombu import Queue

from config import broker
from config.dotenv import load_dotenv
from config.logging import route_celery_logs_through_json

load_dotenv()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Celery replaces Django's handlers with its own when a worker starts; keep JSON lines.
route_celery_logs_through_json()

app = Celery("pharos")


def queues_for(regions: Iterable[str]) -> tuple[Queue, ...]:
    names = [
        broker.DEFAULT_QUEUE,
        broker.SCHEDULE_QUEUE,
        broker.HOUSEKEEPING_QUEUE,
        broker.RESULTS_QUEUE,
        broker.ALERTS_QUEUE,
    ]
    names += [broker.probe_queue(region) for region in regions]
    return tuple(Queue(name, routing_key=name) for name in names)


def configure(app: Celery, regions: Iterable[str]) -> None:
    app.conf.update(
        task_default_queue=broker.DEFAULT_QUEUE,
        task_queues=queues_for(regions),
        task_routes=task_routes(),
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=4,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=beat_schedule(),
    )


# Which worker runs what (README's process table). Each queue has its own worker process,
# so a slow receiver (alerts) or a slow retention sweep (housekeeping) can never hold the
# slot a tick needs. Escalation *planning* is a few queries and belongs with the ticks;
# delivery, which waits on receivers, never does.
SCHEDULE_TASKS = (
    "monitors.tick",
    "monitors.close_overdue_rounds",
    "heartbeats.sweep",
    "alerts.escalate",
    "status.tell_scheduled_reports",
)
# Telling the operators that a team's incidents reach nobody is a rare, synchronous mail;
# it must not wait behind (or hold up) deliveries on the alerts worker.
HOUSEKEEPING_TASKS = (
    "monitors.housekeeping",
    "monitors.check_domain_expiry",
    "heartbeats.prune_pings",
    "alerts.tell_operators_reached_nobody",
)


def task_routes() -> dict[str, dict[str, str]]:
    routes = {broker.RECORD_OUTCOMES_TASK: {"queue": broker.RESULTS_QUEUE}}
    routes.update({name: {"queue": broker.SCHEDULE_QUEUE} for name in SCHEDULE_TASKS})
    routes.update({name: {"queue": broker.HOUSEKEEPING_QUEUE} for name in HOUSEKEEPING_TASKS})
    # Everything else of alerts (delivery) waits on the outside world: its own worker.
    routes["alerts.*"] = {"queue": broker.ALERTS_QUEUE}
    # Probe batches name their region's queue when they are sent.
    return routes


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Static ticks only: schedules of monitors and heartbeats live in the database."""
    from django.conf import settings

    tick = settings.PHAROS_TICK_SECONDS
    return {
        "dispatch-due-monitors": {"task": "monitors.tick", "schedule": tick, "options": {"expires": tick * 5}},
        "close-overdue-rounds": {"task": "monitors.close_overdue_rounds", "schedule": 5.0, "options": {"expires": 30}},
        "sweep-overdue-heartbeats": {"task": "heartbeats.sweep", "schedule": 2.0, "options": {"expires": 30}},
        "escalate-incidents": {"task": "alerts.escalate", "schedule": 5.0, "options": {"expires": 30}},
        # Maintenance windows opening and reports ending on their own: subscribers' mail.
        "tell-scheduled-reports": {
            "task": "status.tell_scheduled_reports",
            "schedule": 30.0,
            "options": {"expires": 60},
        },
        "housekeeping": {"task": "monitors.housekeeping", "schedule": 300.0, "options": {"expires": 600}},
        "prune-pings": {"task": "heartbeats.prune_pings", "schedule": 300.0, "options": {"expires": 600}},
        "check-domain-expiry": {
            "task": "monitors.check_domain_expiry",
            "schedule": 3600.0,
            "options": {"expires": 1800},
        },
    }


app.config_from_object("django.conf:settings", namespace="CELERY")
from django.conf import settings as _settings  # noqa: E402

configure(app, _settings.PHAROS_REGIONS)
app.autodiscover_tasks()
