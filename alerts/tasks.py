"""Celery tasks of the ``alerts`` queue (config.celery routes ``alerts.*`` there).

Payloads are ids; every task reads the clock once and passes ``now`` down.
"""

import logging

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from django.utils import timezone

from alerts import delivery, escalation, reached_nobody, sender

log = logging.getLogger(__name__)


@shared_task(name="alerts.deliver", ignore_result=True)
def deliver(*notification_ids: int | str) -> None:
    """Hand outbox rows to this process's alert sender and return at once.

    The sender claims, sends (bounded by the delivery deadline) and records them, many
    rows at once. Safe to run twice for one row: the claim lets only one send. One id
    (the message of an older release) is a batch of one.
    """
    sender.running().submit(*(int(notification_id) for notification_id in notification_ids))


@worker_shutdown.connect
@worker_process_shutdown.connect
def stop_the_sender(**kwargs: object) -> None:
    """Warm shutdown: sends in flight finish, claimed rows not sent go back to the outbox."""
    sender.stop_running()


@shared_task(name="alerts.escalate", ignore_result=True)
def escalate() -> None:
    """Beat tick (every 5 s): send due escalation steps, then re-enqueue owed deliveries."""
    now = timezone.now()
    escalation.escalate_due(now=now)
    delivery.enqueue(delivery.due_for_sweep(now=now))
    reached_nobody.sweep(now=now)


@shared_task(name="alerts.tell_operators_reached_nobody", ignore_result=True)
def tell_operators_reached_nobody(team_id: int | str) -> None:
    """Mail the operators, once per team, that the team's incidents reach nobody."""
    reached_nobody.tell_operators(int(team_id), now=timezone.now())
