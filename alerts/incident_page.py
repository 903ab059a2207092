"""What the incident's admin page shows beyond its columns: the source as a link, the
timeline, the failing response, and the acknowledge / resolve / comment buttons.

alerts knows sources only by type and id (alerts.models.Incident); the links and the
regions' answers are looked up by app label, so this module imports neither monitors nor
heartbeats.
"""

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from alerts.models import Incident, IncidentEvent, Notification, NotificationEvent

# source_type → the admin page of that source.
SOURCE_ADMIN = {"monitor": "admin:monitors_monitor_change", "heartbeat": "admin:heartbeats_heartbeat_change"}
MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;margin:0"
BOX = f"{MONO};max-height:16em;max-width:60em;overflow:auto;background:#f6f8fa;padding:.5em;border-radius:6px"


@dataclass(frozen=True)
class Moment:
    at: datetime
    what: str
    detail: str = ""


def source_link(incident: Incident) -> SafeString:
    """The monitor or heartbeat as a link to its admin page; plain text when it has none."""
    label = incident.source_type if incident.source_id is None else f"{incident.source_type} #{incident.source_id}"
    name = SOURCE_ADMIN.get(incident.source_type)
    if name is None or incident.source_id is None:
        return format_html("{}", label)
    try:
        url = reverse(name, args=[incident.source_id])
    except NoReverseMatch:
        return format_html("{}", label)
    return format_html('<a href="{}">{} {}</a>', url, label, incident.name)


def timeline(incident: Incident) -> list[Moment]:
    """Opened, confirmed by which regions, each notification, acknowledged, resolved, comments — by time."""
    moments = []
    for event in incident.events.all():
        what = event.get_kind_display()
        detail = " — ".join(part for part in (event.message, f"by {event.actor}" if event.actor else "") if part)
        moments.append(Moment(event.at, what, detail))
        if event.kind == IncidentEvent.Kind.STARTED and incident.regions:
            moments.append(Moment(event.at, "confirmed by", _regions_answer(incident)))
    for notification in incident.notifications.select_related("channel", "user").order_by("created_at", "id"):
        moments.append(Moment(notification.delivered_at or notification.created_at, *_notification(notification)))
    if incident.reached_nobody:
        moments.append(Moment(incident.started_at, "reached nobody", "no member or channel of the team matched"))
    return sorted(moments, key=lambda moment: moment.at)


def timeline_html(incident: Incident) -> SafeString:
    rows = [(moment.at.strftime("%Y-%m-%d %H:%M:%S"), moment.what, moment.detail) for moment in timeline(incident)]
    if not rows:
        return mark_safe("—")
    return format_html(
        '<table class="pharos-timeline"><tbody>{}</tbody></table>',
        format_html_join("", "<tr><td>{}</td><th>{}</th><td>{}</td></tr>", rows),
    )


def response_html(incident: Incident) -> SafeString:
    """The failing response (a monitor's) or the job's output (a heartbeat's failure ping)."""
    body = (incident.metadata or {}).get("ping_body") or incident.response_content
    if not body:
        return mark_safe("—")
    code = (incident.metadata or {}).get("exit_code")
    label = f"exit code {code}" if code is not None else ""
    status = (incident.response_options or {}).get("status_code")
    label = label or (f"HTTP {status}" if status else "")
    return format_html('<div>{}</div><pre style="{}">{}</pre>', label, BOX, body)


def _regions_answer(incident: Incident) -> str:
    """ "us: 503 in 120 ms, eu: timeout" from the round that opened the incident, when kept."""
    round_at = (incident.metadata or {}).get("round")
    answers = {}
    if incident.source_type == "monitor" and round_at:
        results = apps.get_model("monitors", "CheckResult").objects.filter(
            monitor_id=incident.source_id, scheduled_at=round_at, region__in=incident.regions
        )
        for result in results:
            parts = [str(result.status_code) if result.status_code else result.cause or result.outcome]
            if result.response_time is not None:
                parts.append(f"in {result.response_time * 1000:.0f} ms")
            answers[result.region] = " ".join(parts)
    return ", ".join(f"{region}: {answers[region]}" if region in answers else region for region in incident.regions)


def _notification(notification: Notification) -> tuple[str, str]:
    event = {NotificationEvent.ALERT: "alerted", NotificationEvent.ACKNOWLEDGED: "told of acknowledgement"}.get(
        notification.event, "told of recovery"
    )
    who = notification.address or str(notification.channel or notification.recipient)
    state = notification.status + (f" ({notification.last_error[:120]})" if notification.last_error else "")
    return f"{event} ({notification.step})", f"{notification.kind} to {who}: {state}"
