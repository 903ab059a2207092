"""Beat ticks of heartbeats (scheduled in config/celery.py under these names)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from heartbeats.prune import prune_pings
from heartbeats.sweep import sweep


@shared_task(name="heartbeats.sweep", ignore_result=True)
def sweep_overdue_heartbeats():
    report = sweep(now=timezone.now())
    return {"went_down": report.went_down, "postponed": report.postponed, "failed": report.failed}


@shared_task(name="heartbeats.prune_pings", ignore_result=True)
def prune_old_pings():
    return {"deleted": prune_pings(kept=settings.PHAROS_PINGS_KEPT)}
