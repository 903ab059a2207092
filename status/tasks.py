"""Celery tasks of the status app (config.celery routes them to the schedule worker)."""

from celery import shared_task
from django.utils import timezone

from status import report_mail


@shared_task(name="status.tell_scheduled_reports", ignore_result=True)
def tell_scheduled_reports() -> None:
    """Beat tick (every 30 s): subscribers' mail for maintenance windows that opened and
    reports whose ``ends_at`` passed since the last tick."""
    report_mail.tell_scheduled(now=timezone.now())
