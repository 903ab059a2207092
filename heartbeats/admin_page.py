"""What the heartbeat's admin page shows above its form: the ping URL to copy, curl lines
to paste, when the next ping is expected (and a cron heartbeat's next runs), and a bar of
its up and down periods. Server-side HTML and SVG only: the page works offline."""

from datetime import datetime, timedelta
from itertools import islice

from cronsim import CronSim, CronSimError
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from alerts.models import Incident
from heartbeats.models import Heartbeat
from heartbeats.schedule import InvalidSchedule, Schedule, next_due, zone_named

NEXT_RUNS_SHOWN = 5
TIMELINE_SPAN = timedelta(days=7)
MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,monospace"

# The copy button is the only script: the field itself is selectable without it.
COPY_SCRIPT = (
    "var f=document.getElementById('pharos-ping-url');f.select();"
    "if(navigator.clipboard){navigator.clipboard.writeText(f.value);}else{document.execCommand('copy');}"
    "this.textContent='Copied';return false;"
)


def curl_lines(url: str) -> list[tuple[str, str]]:
    """(what, command) for a job's crontab or script; ``$?`` is the job's exit code."""
    return [
        ("success", f'curl -fsS -m 10 --retry 5 -o /dev/null "{url}"'),
        ("failure with output", f'curl -fsS -m 10 --retry 5 -o /dev/null -d "$output" "{url}/$?"'),
        ("start of a run", f'curl -fsS -m 10 --retry 5 -o /dev/null "{url}/start"'),
    ]


def ping_url_html(heartbeat: Heartbeat) -> SafeString:
    url = heartbeat.ping_url
    field = format_html(
        '<input id="pharos-ping-url" type="text" readonly value="{}" onfocus="this.select()" '
        'style="{};width:min(48em,100%)" aria-label="ping URL">'
        '<button type="button" class="button" onclick="{}" style="margin-left:.5em">Copy</button>',
        url,
        MONO,
        COPY_SCRIPT,
    )
    lines = format_html_join(
        "",
        '<div style="margin-top:.4em"><small>{}</small><pre style="{};white-space:pre-wrap;margin:0">{}</pre></div>',
        ((what, MONO, command) for what, command in curl_lines(url)),
    )
    return format_html("<div>{}</div>{}", field, lines)


def expected_html(heartbeat: Heartbeat, *, now: datetime | None = None) -> SafeString:
    """When the next ping is due and when the heartbeat goes down without it."""
    now = now or timezone.now()
    since = heartbeat.last_start_at or heartbeat.last_ping_at
    if heartbeat.paused_at is not None:
        return mark_safe("paused: no ping expected")
    if since is None:
        return mark_safe("waiting for the first ping")
    if heartbeat.status == "down":
        return mark_safe("down: the next success ping brings it back up")
    try:
        due = next_due(Schedule.of(heartbeat), since)
    except InvalidSchedule as error:
        return format_html("{}", error)
    down = heartbeat.alert_after
    return format_html(
        "next ping by {} ({}); down after {}",
        _at(due, heartbeat.timezone),
        _relative(due, now),
        _at(down, heartbeat.timezone) if down else "—",
    )


def next_runs(heartbeat: Heartbeat, *, now: datetime | None = None) -> list[datetime]:
    """A cron heartbeat's next five runs in its own zone; empty for a fixed period."""
    if not heartbeat.cron:
        return []
    try:
        zone = zone_named(heartbeat.timezone)
        return list(islice(CronSim(heartbeat.cron, (now or timezone.now()).astimezone(zone)), NEXT_RUNS_SHOWN))
    except (InvalidSchedule, CronSimError):
        return []


def next_runs_html(heartbeat: Heartbeat) -> SafeString:
    runs = next_runs(heartbeat)
    if not runs:
        return mark_safe("—")
    return format_html(
        "<ol style='margin:0;padding-left:1.5em'>{}</ol>",
        format_html_join("", "<li>{}</li>", ((run.strftime("%a %Y-%m-%d %H:%M %Z"),) for run in runs)),
    )


def down_periods(heartbeat: Heartbeat, *, since: datetime, now: datetime) -> list[tuple[datetime, datetime]]:
    """The heartbeat's outages overlapping [since, now], from its incidents, clipped to the span."""
    incidents = Incident.objects.not_deleted().filter(source_type="heartbeat", source_id=heartbeat.pk, kind="outage")
    incidents = incidents.exclude(resolved_at__lt=since).filter(started_at__lt=now).order_by("started_at")
    return [
        (max(incident.started_at, since), min(incident.resolved_at or now, now))
        for incident in incidents.only("started_at", "resolved_at")
    ]


def timeline_svg(heartbeat: Heartbeat, *, now: datetime | None = None) -> SafeString:
    """A bar of the last seven days: green up, red down, grey before the heartbeat existed."""
    now = now or timezone.now()
    since = now - TIMELINE_SPAN
    span = TIMELINE_SPAN.total_seconds()

    def x(moment: datetime) -> float:
        # At most 998: an outage that began just now still shows as a sliver at the right end.
        return min(round(1000 * (moment - since).total_seconds() / span, 2), 998.0)

    born = max(heartbeat.created_at, since)
    rects = [format_html('<rect x="0" y="0" width="{}" height="24" fill="#d0d7de"/>', x(born))]
    rects.append(format_html('<rect x="{}" y="0" width="{}" height="24" fill="#1a7f37"/>', x(born), 1000 - x(born)))
    for start, end in down_periods(heartbeat, since=since, now=now):
        rects.append(
            format_html(
                '<rect x="{}" y="0" width="{}" height="24" fill="#cf222e"><title>down {} – {}</title></rect>',
                x(start),
                max(x(end) - x(start), 2),
                start.strftime("%Y-%m-%d %H:%M"),
                end.strftime("%Y-%m-%d %H:%M"),
            )
        )
    return format_html(
        '<svg viewBox="0 0 1000 24" preserveAspectRatio="none" role="img" aria-label="up and down, last 7 days" '
        'style="width:min(48em,100%);height:24px;display:block">{}</svg>'
        "<small>{} — now (UTC); red: down</small>",
        mark_safe("".join(rects)),
        since.strftime("%Y-%m-%d %H:%M"),
    )


def _at(moment: datetime, zone_name: str) -> str:
    try:
        zone = zone_named(zone_name)
    except InvalidSchedule:
        zone = zone_named("UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _relative(moment: datetime, now: datetime) -> str:
    seconds = int((moment - now).total_seconds())
    words = _duration(abs(seconds))
    return f"in {words}" if seconds >= 0 else f"{words} ago"


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
