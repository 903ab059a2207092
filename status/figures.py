"""A page's figures, computed from incidents, weekly maintenance windows and the team's
reports: each resource's current status, its availability over the page's history and a
status per day; the page's aggregate state.

Downtime is what alerts.availability counts (the same spans, the same union), so a page
shows the same availability as the SLA endpoints. Days are the page's local days.

States, from best to worst: not_monitored, operational, maintenance, degraded, downtime.
A day or a group takes the worst state of what it contains.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import ceil
from typing import Any

from alerts.availability import availability_from_spans, clip, covered_seconds, incident_spans
from alerts.models import Incident
from config.zones import zone_or_none
from status.models import AffectedState, PageState, ReportType, StatusPage, StatusReport
from status.sources import Sources, sources_of

NOT_MONITORED = "not_monitored"
SEVERITY = {
    NOT_MONITORED: 0,
    PageState.OPERATIONAL: 1,
    PageState.MAINTENANCE: 2,
    PageState.DEGRADED: 3,
    PageState.DOWNTIME: 4,
}
RESOURCE_STATES = list(SEVERITY)
RESOURCE_STATE_CHOICES = [(state, state) for state in RESOURCE_STATES]


def worst(states: Any, default: str = NOT_MONITORED) -> str:
    return max(states, key=SEVERITY.__getitem__, default=default)


@dataclass(frozen=True)
class Day:
    day: date
    status: str
    downtime_duration: int  # seconds
    maintenance_duration: int  # seconds

    def as_attributes(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "status": self.status,
            "downtime_duration": self.downtime_duration,
            "maintenance_duration": self.maintenance_duration,
        }


@dataclass(frozen=True)
class ResourceFigures:
    status: str
    availability: float  # 0.0–1.0
    history: list[Day]


def page_zone(page: StatusPage) -> Any:
    return zone_or_none(page.timezone) or zone_or_none("UTC")


def history_days(page: StatusPage, now: datetime) -> list[tuple[date, datetime, datetime]]:
    """``(day, start, end)`` of each of the page's ``history`` local days up to today."""
    zone = page_zone(page)
    today = now.astimezone(zone).date()
    days = []
    for back in range(page.history - 1, -1, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time.min, tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        days.append((day, start, end))
    return days


def active_reports(reports: list[StatusReport], now: datetime) -> list[StatusReport]:
    """Reports under way at ``now``: started, not ended, not every resource resolved."""
    return [report for report in reports if _report_covers(report, now)]


def _report_covers(report: StatusReport, moment: datetime) -> bool:
    if report.starts_at > moment or (report.ends_at is not None and report.ends_at <= moment):
        return False
    return any(item.get("status") != AffectedState.RESOLVED for item in report.affected_resources)


def report_states(report: StatusReport) -> dict[int, str]:
    """``{resource pk: state}`` a report gives the resources it affects (resolved: none)."""
    states = {}
    for item in report.affected_resources:
        if item.get("status") in (AffectedState.DEGRADED, AffectedState.DOWNTIME, AffectedState.MAINTENANCE):
            states[int(item["status_page_resource_id"])] = item["status"]
    return states


def resource_figures(
    page: StatusPage, resources: list[Any], *, now: datetime, reports: list[StatusReport] | None = None
) -> dict[int, ResourceFigures]:
    """``{resource.pk: ResourceFigures}`` for resources of ``page``."""
    if reports is None:
        reports = list(page.reports.all())
    sources = sources_of(resources, team_id=page.team_id, now=now)
    days = history_days(page, now)
    range_start = days[0][1]
    ongoing = active_reports(reports, now)
    # One query per source type for every resource's incidents (not one per resource): a
    # page of 50 resources spent most of its render in those queries, and a render holds
    # a web worker while an outage's crowd waits (status.page_cache).
    wanted: dict[str, set[int]] = {}
    for source in sources.values():
        if source.ids:
            wanted.setdefault(source.source_type, set()).update(source.ids)
    incidents = {
        source_type: incident_spans(source_type, sorted(ids), start=range_start, end=now)
        for source_type, ids in wanted.items()
    }
    figures = {}
    for resource in resources:
        source = sources[resource.pk]
        # As alerts.availability.downtime_spans, from the incidents fetched above.
        pairs = sorted(
            pair for source_id in source.ids for pair in incidents.get(source.source_type, {}).get(source_id, [])
        )
        spans = clip(pairs, start=range_start, end=now, now=now)
        figures[resource.pk] = ResourceFigures(
            status=_current_status(resource.pk, source, spans, ongoing, now),
            availability=_availability(source, spans, range_start, now),
            history=_history(resource.pk, source, spans, reports, days, now),
        )
    return figures


def _current_status(pk: int, source: Sources, spans: list, ongoing: list[StatusReport], now: datetime) -> str:
    from_reports = [report_states(report).get(pk) for report in ongoing]
    from_reports = [state for state in from_reports if state]
    if not source.members:
        return worst(from_reports)
    states = []
    for member in source.members:
        if member.in_maintenance:
            states.append(PageState.MAINTENANCE)
        elif member.monitored:
            states.append(PageState.OPERATIONAL)
    if any(finish >= now for _, finish in spans):
        states.append(PageState.DOWNTIME)  # an open incident: its span reaches now
    return worst([*states, *from_reports])


def _availability(source: Sources, spans: list, range_start: datetime, now: datetime) -> float:
    if source.existed_since is None:
        return 1.0
    start = max(range_start, source.existed_since)
    figures = availability_from_spans([_clip(span, start, now) for span in spans], start=start, end=now)
    return round(figures.availability / 100.0, 6)


def _history(
    pk: int, source: Sources, spans: list, reports: list[StatusReport], days: list, now: datetime
) -> list[Day]:
    maintenance = [
        (report.starts_at, report.ends_at or now)
        for report in reports
        if report.report_type == ReportType.MAINTENANCE and pk in report_states(report)
    ]
    stated = [(report, report_states(report).get(pk)) for report in reports if report.report_type == ReportType.MANUAL]
    existed_since = source.existed_since  # a min() over the members: once, not per day
    # Each span is filed under the days it may reach into, so a day looks at its few spans
    # only: clipping every span to every day was spans × days (27,000 at 50 resources × 90
    # days), most of a page's render, for a few overlaps.
    down_by_day, planned_by_day = _by_day(spans, days), _by_day(maintenance, days)
    history = []
    for (day, start, end), down_spans, planned_spans in zip(days, down_by_day, planned_by_day, strict=True):
        existed = existed_since is not None and existed_since < min(end, now)
        if not down_spans and not planned_spans and not stated:
            history.append(Day(day, PageState.OPERATIONAL if existed else NOT_MONITORED, 0, 0))
            continue
        end = min(end, now)
        # A started second counts: an incident opened a moment ago makes today's bar red at
        # once, as the resource's status already is, instead of rounding to nothing.
        down = ceil(covered_seconds([_clip(span, start, end) for span in down_spans if _reaches(span, start, end)]))
        planned = ceil(
            covered_seconds([_clip(span, start, end) for span in planned_spans if _reaches(span, start, end)])
        )
        posted = [state for report, state in stated if state and _overlaps(report, start, end, now)]
        if not existed:
            status = worst(posted) if posted else NOT_MONITORED
        else:
            status = worst(
                [
                    PageState.OPERATIONAL,
                    *posted,
                    *([PageState.DOWNTIME] if down else []),
                    *([PageState.MAINTENANCE] if planned else []),
                ]
            )
        history.append(Day(day, status, down, planned))
    return history


def _by_day(spans: list, days: list) -> list[list]:
    """For each day of ``days``, the spans that may reach into it (a superset: ``_reaches``
    decides)."""
    starts = [start for _, start, _ in days]
    found: list[list] = [[] for _ in days]
    for span in spans:
        index = max(0, bisect_right(starts, span[0]) - 1)  # the day the span begins in
        while index < len(days) and starts[index] < span[1]:
            found[index].append(span)
            index += 1
    return found


def _reaches(span: tuple[datetime, datetime], start: datetime, end: datetime) -> bool:
    return span[0] < end and span[1] > start


def _clip(span: tuple[datetime, datetime], start: datetime, end: datetime) -> tuple[datetime, datetime]:
    begin, finish = max(span[0], start), min(span[1], end)
    return (begin, finish) if finish > begin else (begin, begin)


def _overlaps(report: StatusReport, start: datetime, end: datetime, now: datetime) -> bool:
    return report.starts_at < end and (report.ends_at or now) > start


def aggregate_state(page: StatusPage, *, now: datetime, figures: dict[int, ResourceFigures] | None = None) -> str:
    """The page's one word: the worst state of its resources (not monitored ones aside)."""
    if figures is None:
        figures = resource_figures(page, list(page.resources.all()), now=now)
    states = [item.status for item in figures.values() if item.status != NOT_MONITORED]
    return worst(states, default=PageState.OPERATIONAL)


def incidents_of(page: StatusPage, resources: list[Any], *, since: datetime, now: datetime) -> list[tuple[Any, list]]:
    """``[(incident, [resources it concerns])]`` of the page's sources since ``since``, newest
    first; resolved incidents shorter than the page's ``min_incident_length`` left out."""
    sources = sources_of(resources, team_id=page.team_id, now=now)
    concerned: dict[tuple[str, int], list[Any]] = {}
    for resource in resources:
        for source_id in sources[resource.pk].ids:
            concerned.setdefault((sources[resource.pk].source_type, source_id), []).append(resource)
    if not concerned:
        return []
    rows = (
        Incident.objects.not_deleted()
        .filter(team_id=page.team_id, source_id__in={key[1] for key in concerned})
        .exclude(resolved_at__lt=since)
        .order_by("-started_at", "-id")
    )
    found = []
    for incident in rows:
        resources_hit = concerned.get((incident.source_type, incident.source_id))
        if not resources_hit:
            continue
        if incident.resolved_at is not None:
            if (incident.resolved_at - incident.started_at).total_seconds() < page.min_incident_length:
                continue
        found.append((incident, resources_hit))
    return found
