"""Celery tasks of the monitors app. Payloads are plain JSON; each task reads the clock once.

- ``monitors.tick`` (beat, every PHAROS_TICK_SECONDS): dispatch due monitors.
- ``monitors.record_outcomes`` (queue ``results``): the aggregator, one results message.
- ``monitors.close_overdue_rounds`` (beat): close rounds past their deadline, release
  recovered regions.
- ``monitors.housekeeping`` (beat): hourly rollups, pruning.
- ``monitors.check_domain_expiry`` (beat, hourly): RDAP lookups and domain-expiry incidents.
"""

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from config.broker import RECORD_OUTCOMES_TASK
from monitors import aggregator, domains, quarantine, retention, scheduler

logger = logging.getLogger(__name__)


@shared_task(name="monitors.tick", ignore_result=True)
def tick() -> dict[str, int]:
    report = scheduler.tick(now=timezone.now())
    if report.claimed:
        # A routine tick: DEBUG, so the state changes stand out at INFO.
        logger.debug(
            "tick dispatched %s rounds in %s messages (%s in maintenance, %s skipped)",
            report.dispatched,
            report.messages,
            report.in_maintenance,
            report.skipped,
        )
    return {"dispatched": report.dispatched, "messages": report.messages}


@shared_task(name=RECORD_OUTCOMES_TASK, ignore_result=True)
def record_outcomes(message: dict[str, Any]) -> dict[str, int]:
    return aggregator.record_outcomes(message, now=timezone.now())


@shared_task(name="monitors.close_overdue_rounds", ignore_result=True)
def close_overdue_rounds() -> dict[str, object]:
    now = timezone.now()
    closed = aggregator.close_overdue_rounds(now=now)
    released = quarantine.release_recovered(now=now)
    return {"closed": closed, "released": released}


@shared_task(name="monitors.housekeeping", ignore_result=True)
def housekeeping() -> dict[str, int]:
    now = timezone.now()
    summary = retention.housekeep(now=now)
    summary["lone_failures_pruned"] = quarantine.prune_lone_failures(now=now)
    return summary


@shared_task(name="monitors.check_domain_expiry", ignore_result=True)
def check_domain_expiry() -> dict[str, int]:
    summary = domains.check_domain_expiry(now=timezone.now())
    if summary["opened"] or summary["resolved"]:
        logger.info("domain expiry: %s", summary)
    elif summary["looked_up"] or summary["failed"]:
        logger.debug("domain expiry: %s", summary)
    return summary
