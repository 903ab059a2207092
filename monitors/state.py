"""The monitor state machine: a closed round's verdict → status, incident, next check.

    pending/up --DOWN--> (failing, unconfirmed: confirmation round now)
               --DOWN for confirmation_period--> down  [incident opened]
    down      --UP--> validating                        [incident Validating]
    validating--UP for recovery_period--> up            [incident resolved]
    validating--DOWN--> down  (the recovery count starts again)

Verdicts are applied under the monitor's row lock (``SELECT … FOR UPDATE``), so two
aggregators closing two rounds of one monitor take turns; the one-open-incident index
is the last guard (``open_incident`` returns None to the loser). A round older than the
newest applied one (``verdict_round_at``) changes nothing.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction

from alerts.incidents import (
    Alerting,
    IncidentFacts,
    mark_failing_again,
    mark_validating,
    open_incident,
    resolve_incident,
)
from alerts.models import Incident, IncidentKind, IncidentSource, IncidentStatus
from monitors.models import Monitor, MonitorStatus, RoundVerdict
from monitors.types import HTTP_TYPES
from monitors.verdicts import Verdict
from probes import tls

logger = logging.getLogger(__name__)

OUTAGE = "outage"
# The incidents a round's verdicts open and resolve: an outage, or a certificate inside
# its ssl_expiration window (which probes report as DOWN). One at a time, under the
# monitor's row lock; each kind's partial unique index is the last guard.
CHECK_KINDS = (IncidentKind.OUTAGE, IncidentKind.CERTIFICATE)
RESOLVED_BY = "Pharos (automatic recovery)"


def open_outage(monitor_id: int) -> Incident | None:
    """The monitor's open outage (or certificate incident: the check's own), or None. A
    domain-expiry warning (monitors.domains) has its own slot and is never recovered here."""
    outage: Incident | None = (
        Incident.objects.open()
        .for_source(IncidentSource.MONITOR, monitor_id)
        .filter(kind__in=CHECK_KINDS)
        .only("pk", "status")
        .first()
    )
    return outage


def apply_verdict(*, monitor_id: int, scheduled_at: datetime, verdict: Verdict, now: datetime) -> str | None:
    """Move the monitor along for one closed round. Returns the monitor's new status, or
    None when the round changed nothing (stale, paused, deleted, inconclusive)."""
    if verdict.kind == RoundVerdict.INCONCLUSIVE:
        return None
    with transaction.atomic():
        monitor = Monitor.objects.select_for_update().filter(pk=monitor_id).first()
        if monitor is None:
            return None
        if monitor.verdict_round_at is not None and scheduled_at <= monitor.verdict_round_at:
            return None
        monitor.verdict_round_at = scheduled_at
        monitor.last_checked_at = now
        changed = ["verdict_round_at", "last_checked_at"]
        if monitor.paused_at is None and monitor.status not in (MonitorStatus.PAUSED, MonitorStatus.MAINTENANCE):
            if verdict.kind == RoundVerdict.DOWN:
                _on_down(monitor, scheduled_at, verdict, now)
            else:
                _on_up(monitor, scheduled_at, now)
            changed += ["status", "failing_since", "passing_since", "next_check_at"]
        monitor.save(update_fields=changed)
        status: str = monitor.status
        return status


def _sooner(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _on_down(monitor: Monitor, scheduled_at: datetime, verdict: Verdict, now: datetime) -> None:
    first_failure = monitor.failing_since is None
    monitor.passing_since = None
    if first_failure:
        monitor.failing_since = scheduled_at
    if monitor.status in (MonitorStatus.DOWN, MonitorStatus.VALIDATING):
        outage = open_outage(monitor.pk)
        if outage is None:
            # Someone resolved the outage by hand while the target still fails: this is
            # news again, and a failure nobody hears about is worth nothing.
            _open_outage(monitor, verdict, scheduled_at, now=now)
        elif outage.status == IncidentStatus.VALIDATING:
            mark_failing_again(outage.pk, now=now)
        # Flapping inside an open outage is the same outage: nothing new to open.
        monitor.status = MonitorStatus.DOWN
        return
    confirmation = timedelta(seconds=monitor.confirmation_period)
    if scheduled_at - monitor.failing_since >= confirmation:
        _open_outage(monitor, verdict, scheduled_at, now=now)
        monitor.status = MonitorStatus.DOWN
        return
    # Not confirmed yet: ask every region again now, then when the period is up, rather
    # than waiting for the next regular round of a slow monitor.
    wanted = now if first_failure else monitor.failing_since + confirmation
    monitor.next_check_at = _sooner(monitor.next_check_at, wanted)


def _on_up(monitor: Monitor, scheduled_at: datetime, now: datetime) -> None:
    monitor.failing_since = None
    if monitor.passing_since is None:
        monitor.passing_since = scheduled_at
    if monitor.status == MonitorStatus.UP:
        return
    # Pending may follow a maintenance window that began mid-outage: look for the outage.
    outage = open_outage(monitor.pk)
    recovery = timedelta(seconds=monitor.recovery_period)
    if outage is None or scheduled_at - monitor.passing_since >= recovery:
        if outage is not None:
            resolve_incident(outage.pk, by=RESOLVED_BY, now=now)
            logger.info(
                "monitor %s up: incident %s resolved",
                monitor.pk,
                outage.pk,
                extra={
                    "monitor": monitor.pk,
                    "round": scheduled_at.isoformat(),
                    "incident": outage.pk,
                    "team": monitor.team_id,
                },
            )
        monitor.status = MonitorStatus.UP
        return
    mark_validating(outage.pk, now=now)
    monitor.status = MonitorStatus.VALIDATING
    monitor.next_check_at = _sooner(monitor.next_check_at, monitor.passing_since + recovery)


def _open_outage(monitor: Monitor, verdict: Verdict, scheduled_at: datetime, *, now: datetime) -> Incident | None:
    """Open the check's incident; a domain-expiry warning open meanwhile stays (its own slot)."""
    certificate = verdict.cause.startswith(tls.EXPIRY_CAUSE_PREFIX)
    incident = open_incident(
        team_id=monitor.team_id,
        source_type=IncidentSource.MONITOR,
        source_id=monitor.pk,
        facts=_outage_facts(monitor, verdict, scheduled_at),
        alerting=Alerting.of(monitor),
        now=now,
        kind=IncidentKind.CERTIFICATE if certificate else IncidentKind.OUTAGE,
    )
    context = {"monitor": monitor.pk, "round": scheduled_at.isoformat(), "team": monitor.team_id}
    if incident is None:
        logger.info("monitor %s down: an incident is already open", monitor.pk, extra=context)
    else:
        logger.info(
            "monitor %s down: incident %s opened (%s)",
            monitor.pk,
            incident.pk,
            verdict.cause,
            extra={**context, "incident": incident.pk, "regions": list(verdict.down_regions)},
        )
    return incident


def _outage_facts(monitor: Monitor, verdict: Verdict, scheduled_at: datetime) -> IncidentFacts:
    is_http = monitor.monitor_type in HTTP_TYPES
    return IncidentFacts(
        cause=verdict.cause,
        name=str(monitor),
        url=monitor.url,
        http_method=monitor.http_method.upper() if is_http else "",
        regions=list(verdict.down_regions),
        response_content=verdict.response_excerpt or "",
        response_options={"status_code": verdict.status_code} if verdict.status_code else {},
        ssl_certificate_expires_at=verdict.tls_expires_at,
        metadata={"kind": OUTAGE, "round": scheduled_at.isoformat(), "monitor_type": monitor.monitor_type},
    )
