"""Mail to a page's confirmed subscribers about the team's own reports — an incident it
describes (manual) or planned maintenance — through the alerts outbox.

One outbox row per (report, step, subscriber, email), the step saying what happened:

* ``reported`` — a manual report was posted, or maintenance was announced ahead of its window;
* ``started`` — a maintenance window opened (the tick, ``tell_scheduled``; or the announcement
  itself when it is posted with its window already open);
* ``update-<id>`` — a status update was posted on a report still under way;
* ``ended`` — the report is over: a status update or PATCH resolved every affected
  resource or set ``ends_at`` in the past, or ``ends_at`` passed (the tick). A report posted
  when it is already over gets this one mail only.

Rows written by the API are written in the request's own transaction (``report_written``),
so a mail is promised exactly when the report or update commits; the tick's rows in its
own. The outbox's unique constraint on (report, step, recipient, kind) makes a repeated
write — two ticks at once, a retried request — add nothing: each mail goes once, and the
alerts worker's sender claims, retries and records it like any other row.
"""

import logging
from datetime import datetime, timedelta
from html import escape

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from alerts.delivery import enqueue
from alerts.messages import Message
from alerts.models import Notification, NotificationEvent, NotificationStatus
from status.figures import page_zone
from status.models import AffectedState, ReportType, StatusPageResource, StatusReport, StatusUpdate, Subscriber
from status.subscriptions import unsubscribe_url

log = logging.getLogger(__name__)

PREFIX = "subscriber:"  # status.subscriber_mail's recipients: one subscriber, whatever the mail is about
# A window that opened or closed longer ago than this while nothing ticked (beat down) is
# old news: the tick does not mail it late.
LATE = timedelta(hours=1)
UPDATE_STEP = "update-"
STATE_WORDS = {
    AffectedState.RESOLVED: "operational",
    AffectedState.DEGRADED: "degraded performance",
    AffectedState.DOWNTIME: "down",
    AffectedState.MAINTENANCE: "under maintenance",
}


def is_over(report: StatusReport, now: datetime) -> bool:
    """Over once ``ends_at`` passed, or once every resource it names is resolved (a report
    naming none ends by ``ends_at`` alone)."""
    if report.ends_at is not None and report.ends_at <= now:
        return True
    items = report.affected_resources or []
    return bool(items) and all(item.get("status") == AffectedState.RESOLVED for item in items)


def _already(report: StatusReport, step: str) -> bool:
    return Notification.objects.filter(status_report=report, step=step).exists()


def report_written(
    report: StatusReport, *, created: bool, update: StatusUpdate | None = None, now: datetime | None = None
) -> None:
    """The rows a report's creation, PATCH or new status update owes its page's subscribers.

    Call inside the transaction that wrote the report or update (the API's create and
    partial_update are atomic). A PATCH that neither resolves the report nor posts a
    message owes nothing.
    """
    now = now or timezone.now()
    if created:
        if is_over(report, now):
            step, event = "ended", NotificationEvent.ENDED
        elif report.report_type == ReportType.MAINTENANCE and report.starts_at <= now:
            step, event = "started", NotificationEvent.STARTED
        else:
            step, event = "reported", NotificationEvent.REPORTED
        _write(report, event, step, now=now)
    elif is_over(report, now) and not _already(report, "ended"):
        # The update that resolves the report is its resolution mail, not an update too.
        _write(report, NotificationEvent.ENDED, "ended", now=now)
    elif update is not None:
        # An update after the end (a post-mortem) is an update like any other.
        _write(report, NotificationEvent.UPDATED, f"{UPDATE_STEP}{update.pk}", now=now)


def tell_scheduled(*, now: datetime) -> int:
    """The tick: maintenance windows that opened and reports whose ``ends_at`` passed,
    within ``LATE``, whose mail is not written yet. Returns the reports it wrote for."""
    reports = StatusReport.objects.select_related("status_page").filter(
        status_page__subscribable=True, status_page__published=True
    )
    mailed = Notification.objects.filter(status_report=OuterRef("pk"))
    opened = reports.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        report_type=ReportType.MAINTENANCE,
        starts_at__lte=now,
        starts_at__gt=now - LATE,
    ).exclude(Exists(mailed.filter(step__in=["started", "ended"])))
    closed = reports.filter(ends_at__lte=now, ends_at__gt=now - LATE).exclude(Exists(mailed.filter(step="ended")))
    told = 0
    for report in opened:
        if not is_over(report, now):
            with transaction.atomic():
                told += bool(_write(report, NotificationEvent.STARTED, "started", now=now))
    for report in closed:
        with transaction.atomic():
            told += bool(_write(report, NotificationEvent.ENDED, "ended", now=now))
    if told:
        log.info("report mail: wrote rows for %s scheduled start(s) or end(s)", told)
    return told


def _write(report: StatusReport, event: str, step: str, *, now: datetime) -> int:
    page = report.status_page
    if not (page.subscribable and page.published):
        return 0
    rows = [
        Notification(
            status_report=report,
            event=event,
            step=step,
            recipient=f"{PREFIX}{subscriber_id}",
            kind="email",
            address=email,
            next_attempt_at=now,
            created_at=now,
        )
        for subscriber_id, email in Subscriber.objects.filter(status_page=page, confirmed_at__isnull=False).values_list(
            "pk", "email"
        )
    ]
    if not rows:
        return 0
    # The unique constraint on (report, step, recipient, kind) is what keeps a repeat (two
    # ticks, a retried request) from writing a second mail: conflicts are dropped.
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    report_id = report.pk

    def publish() -> None:
        enqueue(
            Notification.objects.filter(
                status_report_id=report_id, step=step, status=NotificationStatus.PENDING, attempts=0
            ).values_list("pk", flat=True)
        )

    # After commit, so a worker never looks for a row it cannot see yet (the sweeper
    # covers a crash in between).
    transaction.on_commit(publish)
    log.info("status report %s (%s): mail to %s subscriber(s) of page %s", report.pk, step, len(rows), page.pk)
    return len(rows)


def _resource_lines(report: StatusReport, items: list[dict]) -> list[str]:
    ids = [int(item["status_page_resource_id"]) for item in items]
    names = dict(
        StatusPageResource.objects.filter(status_page_id=report.status_page_id, pk__in=ids).values_list(
            "pk", "public_name"
        )
    )
    return [
        f"{names.get(pk) or f'Service {pk}'}: {STATE_WORDS.get(str(item.get('status')), item.get('status'))}"
        for pk, item in zip(ids, items, strict=True)
        if pk in names
    ]


def build(row: Notification) -> Message | None:
    """The subscriber's mail about a report; None when they unsubscribed (or the report or
    update it is about was deleted) since the row was written."""
    subscriber = confirmed_subscriber(row)
    report = StatusReport.objects.filter(pk=row.status_report_id).first()
    if subscriber is None or report is None:
        return None
    page = subscriber.status_page
    zone = page_zone(page)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else ""

    maintenance = report.report_type == ReportType.MAINTENANCE
    updates = list(report.status_updates.order_by("published_at", "id"))
    items = report.affected_resources or []
    said: StatusUpdate | None = None
    if row.step.startswith(UPDATE_STEP):
        said = next((u for u in updates if str(u.pk) == row.step.removeprefix(UPDATE_STEP)), None)
        if said is None:
            return None
        word, when = "Update", f"Posted {local(said.published_at)}."
        items = said.affected_resources or items
    elif row.step == "reported":
        said = updates[0] if updates else None
        if maintenance:
            word = "Planned maintenance"
            window = (
                f"{local(report.starts_at)} – {local(report.ends_at)}" if report.ends_at else local(report.starts_at)
            )
            when = f"Scheduled: {window}."
        else:
            word, when = "Incident", f"Since {local(report.starts_at)}."
    elif row.step == "started":
        said = updates[-1] if updates else None
        word = "Maintenance started"
        when = f"Under way since {local(report.starts_at)}" + (
            f", planned to end {local(report.ends_at)}." if report.ends_at else "."
        )
    else:
        said = updates[-1] if updates else None
        word = "Maintenance completed" if maintenance else "Resolved"
        when = f"Over since {local(min(report.ends_at, row.created_at) if report.ends_at else row.created_at)}."

    lines = [report.title, when]
    if said is not None:
        lines.append(f"{local(said.published_at)} — {said.message}")
    resources = _resource_lines(report, items)
    text = "\n\n".join(lines) + "\n"
    if resources:
        text += "\n" + "\n".join(resources) + "\n"
    html = (
        f"<h2>{escape(report.title)}</h2>"
        + "".join(f"<p>{escape(line)}</p>" for line in lines[1:])
        + (f"<ul>{''.join(f'<li>{escape(line)}</li>' for line in resources)}</ul>" if resources else "")
    )
    return subscriber_message(
        row,
        subscriber,
        incident_id=None,
        title=f"{word}: {report.title}",
        text=text,
        html=html,
        thread=f"report-{report.pk}",
    )


def confirmed_subscriber(row: Notification) -> Subscriber | None:
    """The confirmed subscriber ``row`` is addressed to; None once they unsubscribed."""
    return (
        Subscriber.objects.select_related("status_page")
        .filter(pk=int(row.recipient.removeprefix(PREFIX)), confirmed_at__isnull=False)
        .first()
    )


def subscriber_message(
    row: Notification, subscriber: Subscriber, *, incident_id: int | None, title: str, text: str, html: str, thread: str
) -> Message:
    """A subscriber's mail, about a report or an incident: ``text`` and ``html`` followed by
    the page's link and a one-click unsubscribe. ``thread`` names what it is about on the
    page (``report-7``, ``incident-9``)."""
    page = subscriber.status_page
    page_url = settings.PHAROS_BASE_URL + reverse("status-page", kwargs={"subdomain": page.subdomain})
    leave = unsubscribe_url(subscriber)
    return Message(
        event=row.event,
        incident_id=incident_id,
        title=title,
        text=f"{text}\nStatus page: {page_url}\n\nUnsubscribe: {leave}\n",
        html=(
            f'{html}<p><a href="{escape(page_url)}">Status page</a></p>'
            f'<p style="color:#666"><a href="{escape(leave)}">Unsubscribe</a></p>'
        ),
        cause="",
        ack_url="",
        incident_url=page_url,
        payload={},
        subject=f"{page.company_name} status — {title}"[:250],
        headers={
            "List-Unsubscribe": f"<{leave}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # A customer's mail client threads by what the page reported, never by the
            # team's own alert ids.
            "References": f"<status-page-{page.pk}-{thread}@pharos>",
        },
    )
