"""Certificate expiry: an incident ``TLS certificate expires in N days`` while a monitor's
certificate is inside its ``ssl_expiration`` warning window, resolved once it is renewed.

The earliest ``tls_expires_at`` any region reported in the round counts (a region behind
a stale load balancer still serves the old certificate). The incident belongs to the
monitor like an outage but is marked ``metadata.kind = "ssl_expiration"``, so the outage
state machine never resolves it and renewal never resolves an outage.
"""

import logging

from alerts.incidents import Alerting, IncidentFacts, open_incident, resolve_incident
from alerts.models import Incident, IncidentSource
from monitors.models import Monitor

logger = logging.getLogger(__name__)

KIND = "ssl_expiration"
RESOLVED_BY = "Pharos (certificate renewed)"


def earliest_expiry(votes):
    times = [vote.tls_expires_at for vote in votes.values() if vote.tls_expires_at is not None]
    return min(times) if times else None


def check_certificate(monitor, votes, *, now):
    """``monitor``: a dict with pk and ssl_expiration (as rounds.close_rounds loads it)."""
    expires_at = earliest_expiry(votes)
    if expires_at is None:
        return None
    open_warning = (
        Incident.objects.open().for_source(IncidentSource.MONITOR, monitor["pk"]).filter(metadata__kind=KIND).first()
    )
    seconds_left = (expires_at - now).total_seconds()
    if seconds_left >= monitor["ssl_expiration"] * 86400:
        if open_warning is not None:
            resolve_incident(open_warning.pk, by=RESOLVED_BY, now=now)
        return None
    if open_warning is not None:
        return open_warning
    days = max(int(seconds_left // 86400), 0)
    cause = f"TLS certificate expires in {days} days" if seconds_left > 0 else "TLS certificate expired"
    row = Monitor.objects.select_related(None).get(pk=monitor["pk"])
    incident = open_incident(
        team_id=row.team_id,
        source_type=IncidentSource.MONITOR,
        source_id=row.pk,
        facts=IncidentFacts(
            cause=cause,
            name=str(row),
            url=row.url,
            ssl_certificate_expires_at=expires_at,
            metadata={"kind": KIND, "expires_at": expires_at.isoformat()},
        ),
        alerting=Alerting.of(row),
        now=now,
    )
    if incident is None:
        logger.info("monitor %s: certificate expires soon but an incident is already open", row.pk)
    return incident
