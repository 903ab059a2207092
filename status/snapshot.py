"""What a public page shows, as plain data: built once per cache period and rendered as
HTML (status/templates/status/page.html) and as ``index.json``.

Automatic incidents appear under the public names of the resources they concern, with
their times only: no URL, cause or response ever leaves this module, and the regions that
saw an incident only when the page opts in (``show_region_names``).
"""

from datetime import datetime, timedelta
from typing import Any

from config.jsonapi.timestamps import format_timestamp
from status.figures import (
    NOT_MONITORED,
    active_reports,
    aggregate_state,
    history_days,
    incidents_of,
    page_zone,
    resource_figures,
)
from status.models import ReportType, StatusPage
from status.response_chart import page_charts

STATE_LABELS = {
    "operational": "Operational",
    "degraded": "Degraded performance",
    "downtime": "Downtime",
    "maintenance": "Under maintenance",
    NOT_MONITORED: "Not monitored",
}
AGGREGATE_LABELS = {
    "operational": "All services are online",
    "degraded": "Some services are degraded",
    "downtime": "Some services are down",
    "maintenance": "Maintenance in progress",
}


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def page_snapshot(page: StatusPage, *, now: datetime) -> dict[str, Any]:
    zone = page_zone(page)
    resources = list(page.resources.select_related("section").order_by("position", "id"))
    reports = list(page.reports.prefetch_related("status_updates").order_by("-starts_at", "-id"))
    figures = resource_figures(page, resources, now=now, reports=reports)
    names = {resource.pk: resource.public_name or f"Service {resource.pk}" for resource in resources}

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else ""

    charts = page_charts(page, resources, now=now, zone=zone)
    shown = []
    for resource in resources:
        figure = figures[resource.pk]
        shown.append(
            {
                "id": resource.pk,
                "section_id": resource.section_id,
                "public_name": names[resource.pk],
                "explanation": resource.explanation,
                "widget_type": resource.widget_type,
                "status": figure.status,
                "status_label": STATE_LABELS[figure.status],
                "availability": figure.availability,
                "availability_percent": f"{figure.availability * 100:.3f}",
                "history": [day.as_attributes() for day in figure.history],  # bars: status.templatetags
                "response_chart": charts.get(resource.pk),
            }
        )
    sections = [{"id": None, "name": "", "resources": [r for r in shown if r["section_id"] is None]}]
    for section in page.sections.order_by("position", "id"):
        sections.append(
            {"id": section.pk, "name": section.name, "resources": [r for r in shown if r["section_id"] == section.pk]}
        )
    sections = [section for section in sections if section["resources"]]

    since = history_days(page, now)[0][1]
    ongoing: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    for incident, concerned in incidents_of(page, resources, since=since, now=now):
        public = {
            "id": f"incident-{incident.pk}",
            "title": f"{', '.join(names[r.pk] for r in concerned)} went down",
            "resources": [names[r.pk] for r in concerned],
            # Regions are internal unless the team opts in (show_region_names).
            "regions": [str(region) for region in incident.regions] if page.show_region_names else [],
            "started_at": format_timestamp(incident.started_at),
            "resolved_at": format_timestamp(incident.resolved_at),
            "updated_at": format_timestamp(incident.resolved_at or incident.started_at),
            "started_local": local(incident.started_at),
            "resolved_local": local(incident.resolved_at),
            "duration": _duration(((incident.resolved_at or now) - incident.started_at).total_seconds()),
            "updates": [],
            "day": incident.started_at.astimezone(zone).date(),
        }
        (ongoing if incident.resolved_at is None else past).append(public)

    active = {report.pk for report in active_reports(reports, now)}
    maintenance: list[dict[str, Any]] = []
    for report in reports:
        public = {
            "id": f"report-{report.pk}",
            "title": report.title,
            "report_type": report.report_type,
            "resources": [names.get(int(item["status_page_resource_id"]), "") for item in report.affected_resources],
            "started_at": format_timestamp(report.starts_at),
            "resolved_at": format_timestamp(report.ends_at),
            "updated_at": format_timestamp(
                max(
                    [report.updated_at, *(u.published_at for u in report.status_updates.all() if u.published_at <= now)]
                )
            ),
            "started_local": local(report.starts_at),
            "resolved_local": local(report.ends_at),
            "duration": "",
            "updates": [
                {
                    "message": update.message,
                    "published_at": format_timestamp(update.published_at),
                    "published_local": local(update.published_at),
                }
                for update in reversed(list(report.status_updates.all()))
            ],
            "day": report.starts_at.astimezone(zone).date(),
        }
        if report.report_type == ReportType.MAINTENANCE and (report.starts_at > now or report.pk in active):
            maintenance.append(public)
        elif report.pk in active:
            ongoing.append(public)
        elif report.starts_at >= since:
            past.append(public)

    by_day: dict[Any, list] = {}
    for item in sorted(past, key=lambda item: item["started_at"], reverse=True):
        by_day.setdefault(item["day"], []).append(item)
    state = aggregate_state(page, now=now, figures=figures)
    return {
        "page": page,
        "aggregate_state": state,
        "aggregate_label": AGGREGATE_LABELS[state],
        "sections": sections,
        "resources": shown,
        "ongoing": ongoing,
        "maintenance": maintenance,
        "past_days": [{"day": day, "incidents": items} for day, items in sorted(by_day.items(), reverse=True)],
        "generated_at": format_timestamp(now),
        "history_days": page.history,
        "since": (now - timedelta(days=page.history)).date(),
    }


def index_document(page: StatusPage, snapshot: dict[str, Any]) -> dict[str, Any]:
    """``index.json``: the page, its sections and resources with status and history, and
    what is going on now — Better Stack's public JSON, with nothing internal in it."""
    included: list[dict[str, Any]] = []
    for section in snapshot["sections"]:
        if section["id"] is not None:
            included.append(
                {"id": str(section["id"]), "type": "status_page_section", "attributes": {"name": section["name"]}}
            )
    for resource in snapshot["resources"]:
        included.append(
            {
                "id": str(resource["id"]),
                "type": "status_page_resource",
                "attributes": {
                    "status_page_section_id": None if resource["section_id"] is None else str(resource["section_id"]),
                    "public_name": resource["public_name"],
                    "explanation": resource["explanation"],
                    "widget_type": resource["widget_type"],
                    "status": resource["status"],
                    "availability": resource["availability"],
                    "status_history": [
                        {key: day[key] for key in ("day", "status", "downtime_duration", "maintenance_duration")}
                        for day in resource["history"]
                    ],
                    **(
                        {"response_times": resource["response_chart"]["series"]}
                        if resource.get("response_chart")
                        else {}
                    ),
                },
            }
        )
    for kind, items in (("active_incident", snapshot["ongoing"]), ("maintenance", snapshot["maintenance"])):
        for item in items:
            included.append(
                {
                    "id": item["id"],
                    "type": kind,
                    "attributes": {
                        "title": item["title"],
                        "affected_resources": item["resources"],
                        "started_at": item["started_at"],
                        "resolved_at": item["resolved_at"],
                        **({"regions": item["regions"]} if page.show_region_names and "regions" in item else {}),
                        "updates": [
                            {"message": u["message"], "published_at": u["published_at"]} for u in item["updates"]
                        ],
                    },
                }
            )
    return {
        "data": {
            "id": str(page.pk),
            "type": "status_page",
            "attributes": {
                "company_name": page.company_name,
                "company_url": page.company_url,
                "contact_url": page.contact_url,
                "logo_url": page.logo_url,
                "timezone": page.timezone,
                "subdomain": page.subdomain,
                "custom_domain": page.custom_domain,
                "announcement": page.announcement,
                "history": page.history,
                "aggregate_state": snapshot["aggregate_state"],
                "generated_at": snapshot["generated_at"],
            },
        },
        "included": included,
    }
