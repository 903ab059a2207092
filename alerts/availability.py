"""Availability of one incident source over a time range, computed from its incidents.

Downtime is the time covered by the source's incidents (``started_at`` until
``resolved_at``, or ``now`` while open) inside the range; overlapping incidents count
once. The part of the range before the source existed and after ``now`` is not counted at
all, so a monitor created yesterday is not 50 % available over two days.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from alerts.models import Incident

# (started_at, resolved_at or None) of one incident; a span is both ends inside a range.
IncidentTimes = tuple[datetime, datetime | None]
Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Availability:
    availability: float  # percent
    total_downtime: int  # seconds
    number_of_incidents: int
    longest_incident: int  # seconds
    average_incident: int  # seconds

    def as_attributes(self) -> dict[str, Any]:
        return {
            "availability": self.availability,
            "total_downtime": self.total_downtime,
            "number_of_incidents": self.number_of_incidents,
            "longest_incident": self.longest_incident,
            "average_incident": self.average_incident,
        }


def availability_of(
    *, source_type: str, source_id: int, start: datetime, end: datetime, existed_since: datetime, now: datetime
) -> Availability:
    start, end = max(start, existed_since), min(end, now)
    if end <= start:
        return Availability(100.0, 0, 0, 0, 0)
    spans = downtime_spans(source_type=source_type, source_ids=[source_id], start=start, end=end, now=now)
    return availability_from_spans(spans, start=start, end=end)


def availabilities_of(
    *, source_type: str, sources: Mapping[int, datetime], start: datetime, end: datetime, now: datetime
) -> dict[int, Availability]:
    """``availability_of`` for many sources in one query: ``sources`` maps each id to when
    the source was created; the answer maps each id to its Availability. The console's
    lists use it so that a page of a hundred monitors costs one query, not a hundred."""
    bounds = {source_id: (max(start, existed_since), min(end, now)) for source_id, existed_since in sources.items()}
    earliest = min((begin for begin, _ in bounds.values()), default=start)
    spans = incident_spans(source_type, list(sources), start=earliest, end=min(end, now)) if sources else {}
    return {
        source_id: availability_from_incidents(spans.get(source_id, []), start=begin, end=finish, now=now)
        for source_id, (begin, finish) in bounds.items()
    }


def availability_from_incidents(
    incidents: Iterable[IncidentTimes], *, start: datetime, end: datetime, now: datetime
) -> Availability:
    """The figures over [start, end] from ``(started_at, resolved_at or None)`` pairs, open
    incidents running until ``now``."""
    return availability_from_spans(clip(incidents, start=start, end=end, now=now), start=start, end=end)


def availability_from_spans(spans: Sequence[Span], *, start: datetime, end: datetime) -> Availability:
    """The figures of ``[start, end)`` (already clipped to the source's life) given its
    downtime spans inside it; for a group of sources, the union of their spans. The one
    rule every caller above goes through."""
    if end <= start:
        return Availability(100.0, 0, 0, 0, 0)
    durations = [(finish - begin).total_seconds() for begin, finish in spans]
    downtime = covered_seconds(spans)
    whole = (end - start).total_seconds()
    return Availability(
        availability=round(max(0.0, 100.0 * (1 - downtime / whole)), 4),
        total_downtime=round(downtime),
        number_of_incidents=len(spans),
        longest_incident=round(max(durations, default=0)),
        average_incident=round(sum(durations) / len(durations)) if durations else 0,
    )


def incident_spans(
    source_type: str, source_ids: Sequence[int], *, start: datetime, end: datetime
) -> dict[int, list[IncidentTimes]]:
    """``{source_id: [(started_at, resolved_at), …]}`` of the incidents overlapping the range."""
    rows = (
        Incident.objects.filter(source_type=source_type, source_id__in=source_ids)
        .not_deleted()  # a deleted incident (often a false alarm) no longer counts as downtime
        .filter(started_at__lt=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=start))
        .order_by("started_at")
        .values_list("source_id", "started_at", "resolved_at")
    )
    spans: dict[int, list[IncidentTimes]] = {}
    for source_id, started, resolved in rows:
        spans.setdefault(source_id, []).append((started, resolved))
    return spans


def downtime_spans(
    *, source_type: str, source_ids: Sequence[int], start: datetime, end: datetime, now: datetime
) -> list[Span]:
    """The parts of ``[start, end)`` that the sources' incidents cover, one span per
    incident (they may overlap), in order of start: what counts as downtime."""
    incidents = sorted(
        pair for pairs in incident_spans(source_type, source_ids, start=start, end=end).values() for pair in pairs
    )
    return clip(incidents, start=start, end=end, now=now)


def clip(incidents: Iterable[IncidentTimes], *, start: datetime, end: datetime, now: datetime) -> list[Span]:
    """``(started_at, resolved_at or None)`` pairs cut to ``[start, end)``, open ones running
    until ``now``; pairs that fall outside are left out."""
    spans = [(max(started, start), min(resolved or now, end)) for started, resolved in incidents]
    return [(begin, finish) for begin, finish in spans if finish > begin]


def covered_seconds(spans: Iterable[Span]) -> float:
    """Seconds covered by the spans, overlapping ones counted once."""
    total, reach = 0.0, None
    for begin, finish in sorted(spans):
        if reach is not None:
            begin = max(begin, reach)
        if finish > begin:
            total += (finish - begin).total_seconds()
            reach = finish
    return total
