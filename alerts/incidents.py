"""Incident transitions: the one door through which monitors, heartbeats, the API and the
admin open, acknowledge and resolve incidents.

Each transition is claimed in the database — the partial unique index for opening, a
conditional UPDATE for everything else — so two workers racing on one source produce one
incident and one notification, never two. Callers pass ``now`` so that a whole round or
sweep uses one clock reading.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When

from alerts.alertable import ALERTING_FIELDS
from alerts.models import Incident, IncidentEvent, IncidentKind, IncidentSource, IncidentStatus
from alerts.signals import incident_changed

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

RESPONSE_CONTENT_LIMIT = 500


def _model_default(name: str) -> Any:
    # The defaults are the model's (alerts.alertable.AlertingSettings), not a second copy;
    # read off Incident, a concrete heir, whose policy key has its model resolved.
    return Incident._meta.get_field(name).get_default()


@dataclass(frozen=True)
class Alerting:
    """Who to wake, as configured on the monitor or heartbeat that opened the incident.

    The attributes are alerts.alertable's ``ALERTING_FIELDS``, the incident's columns too
    (tests/api/test_alertable_sources.py checks the two lists agree); each default is the
    model field's."""

    call: bool = _model_default("call")
    sms: bool = _model_default("sms")
    email: bool = _model_default("email")
    push: bool = _model_default("push")
    critical_alert: bool = _model_default("critical_alert")
    team_wait: int | None = _model_default("team_wait")
    policy_id: int | None = _model_default("policy")

    @classmethod
    def of(cls, source: Any) -> "Alerting":
        """From anything that carries the alerting fields: a model, a row of the hot path."""
        return cls(**{name: getattr(source, name) for name in ALERTING_FIELDS})

    @classmethod
    def from_attributes(cls, attrs: Mapping[str, Any]) -> "Alerting":
        """From validated API attributes; what was left out keeps its default."""
        return cls(**{name: attrs[name] for name in ALERTING_FIELDS if name in attrs})


@dataclass
class IncidentFacts:
    cause: str
    name: str = ""
    url: str = ""
    http_method: str = ""
    regions: list[str] = field(default_factory=list)
    response_content: str = ""
    response_options: dict[str, Any] = field(default_factory=dict)
    ssl_certificate_expires_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    requester_email: str = ""


def open_incident(
    *,
    team_id: int,
    source_type: str,
    source_id: int | None,
    facts: IncidentFacts,
    alerting: Alerting,
    now: datetime,
    kind: str | None = None,
) -> Incident | None:
    """Open an incident of ``kind`` for the source, or return None when one of that kind is
    already open. ``kind`` defaults to an outage (manual for a source_type of manual).

    Safe to race: the partial unique index ``incident_one_open_per_source_and_kind`` lets
    exactly one opener commit; the loser sees IntegrityError inside its savepoint and
    returns None.
    Only the INSERT is inside that savepoint, so an integrity error in what follows (the
    timeline, the outbox) is a real error, not mistaken for "already open".
    """
    # No savepoint of our own: an error below propagates and rolls the caller back anyway.
    with transaction.atomic(savepoint=False):
        try:
            with transaction.atomic():
                incident: Incident = Incident.objects.create(
                    team_id=team_id,
                    source_type=source_type,
                    source_id=source_id,
                    name=facts.name[:300],
                    summary=facts.summary,
                    url=facts.url[:2048],
                    http_method=facts.http_method.upper(),
                    cause=facts.cause[:500],
                    regions=list(facts.regions),
                    response_content=(facts.response_content or "")[:RESPONSE_CONTENT_LIMIT],
                    response_options=facts.response_options,
                    ssl_certificate_expires_at=facts.ssl_certificate_expires_at,
                    metadata=facts.metadata,
                    requester_email=facts.requester_email,
                    kind=kind or _default_kind(source_type),
                    **asdict(alerting),
                    started_at=now,
                )
        except IntegrityError:
            return None
        IncidentEvent.objects.create(incident=incident, at=now, kind=IncidentEvent.Kind.STARTED, message=facts.cause)
        _announce(incident, "started", now=now)
    return incident


def _default_kind(source_type: str) -> str:
    return IncidentKind.MANUAL if source_type == IncidentSource.MANUAL else IncidentKind.OUTAGE


def acknowledge_incident(incident_id: int, *, by: str, now: datetime) -> bool:
    """Acknowledge an open, unacknowledged incident. Returns False if someone got there first."""
    with transaction.atomic():
        claimed = Incident.objects.filter(
            pk=incident_id, resolved_at__isnull=True, acknowledged_at__isnull=True
        ).update(acknowledged_at=now, acknowledged_by=by[:254], status=IncidentStatus.ACKNOWLEDGED, updated_at=now)
        if not claimed:
            return False
        IncidentEvent.objects.create(
            incident_id=incident_id, at=now, kind=IncidentEvent.Kind.ACKNOWLEDGED, actor=by[:254]
        )
        _announce(Incident.objects.get(pk=incident_id), "acknowledged", now=now)
    return True


def mark_validating(incident_id: int, *, now: datetime) -> bool:
    """The source passes again but has not yet passed for its whole recovery period."""
    claimed = (
        Incident.objects.filter(pk=incident_id, resolved_at__isnull=True)
        .exclude(status=IncidentStatus.VALIDATING)
        .update(status=IncidentStatus.VALIDATING, updated_at=now)
    )
    if claimed:
        IncidentEvent.objects.create(incident_id=incident_id, at=now, kind=IncidentEvent.Kind.VALIDATING)
    return bool(claimed)


def mark_failing_again(incident_id: int, *, now: datetime) -> bool:
    """A validating incident failed again: back to Acknowledged or Started."""
    back_to = Case(
        When(acknowledged_at__isnull=False, then=Value(IncidentStatus.ACKNOWLEDGED)),
        default=Value(IncidentStatus.STARTED),
    )
    # Conditional on Validating: a resolver or a second aggregator racing us is a no-op.
    claimed = Incident.objects.filter(pk=incident_id, status=IncidentStatus.VALIDATING).update(
        status=back_to, updated_at=now
    )
    if claimed:
        IncidentEvent.objects.create(incident_id=incident_id, at=now, kind=IncidentEvent.Kind.FAILING)
    return bool(claimed)


def resolve_incident(incident_id: int, *, by: str, now: datetime) -> bool:
    """Resolve an open incident. Returns False if it was already resolved (by anyone)."""
    with transaction.atomic():
        claimed = Incident.objects.filter(pk=incident_id, resolved_at__isnull=True).update(
            resolved_at=now, resolved_by=by[:254], status=IncidentStatus.RESOLVED, updated_at=now
        )
        if not claimed:
            return False
        IncidentEvent.objects.create(incident_id=incident_id, at=now, kind=IncidentEvent.Kind.RESOLVED, actor=by[:254])
        _announce(Incident.objects.get(pk=incident_id), "resolved", now=now)
    return True


def resolve_open_incident(
    *, source_type: str, source_id: int, by: str, now: datetime, kind: str | None = None
) -> list[int]:
    """Resolve the source's open incident of ``kind`` — of every kind when None (the
    source is going away). Returns the ids of the incidents this call resolved."""
    open_ids = Incident.objects.open().for_source(source_type, source_id, kind=kind).values_list("pk", flat=True)
    return [incident_id for incident_id in list(open_ids) if resolve_incident(incident_id, by=by, now=now)]


def _announce(incident: Incident, transition: str, *, now: datetime) -> None:
    """Write the notification rows for a transition, in the caller's transaction.

    The outbox (alerts.outbox) owns who hears about what; it is imported here lazily so
    the incident model stays usable while the outbox grows.
    """
    from alerts import outbox

    outbox.record_transition(incident, transition, now=now)
    incident_changed.send(sender=Incident, incident=incident, transition=transition)


def delete_incident(incident_id: int, *, by: str, now: datetime) -> bool:
    """Delete an incident: resolve it first if open (its recovery goes out as usual), then
    hide it from the API and from availability figures. Returns False if it was already
    deleted.

    The row stays (``deleted_at``) so that the recovery notifications written by the
    resolve — rows that belong to the incident — are still delivered, and the timeline
    records who deleted it.
    """
    with transaction.atomic():
        resolve_incident(incident_id, by=by, now=now)
        # Conditional: of two deletes racing, one records the deletion, the other finds it gone.
        claimed = Incident.objects.filter(pk=incident_id, deleted_at__isnull=True).update(
            deleted_at=now, updated_at=now
        )
        if not claimed:
            return False
        IncidentEvent.objects.create(incident_id=incident_id, at=now, kind=IncidentEvent.Kind.DELETED, actor=by[:254])
    return True


def comment_on_incident(
    incident_id: int, *, content: str, by: str, now: datetime, user: "AbstractBaseUser | None" = None
) -> IncidentEvent:
    """Add a comment to the incident's timeline; returns the timeline event."""
    event: IncidentEvent = IncidentEvent.objects.create(
        incident_id=incident_id, at=now, kind=IncidentEvent.Kind.COMMENT, message=content, actor=by[:254], user=user
    )
    return event
