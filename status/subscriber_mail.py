"""Mail to a page's confirmed subscribers when an incident of its resources starts, is
acknowledged (the update "we are on it") and is resolved — through the alerts outbox.

The rows are ``alerts.Notification`` rows written in the transition's own transaction
(``incident_changed`` is sent inside it), so the mail is promised exactly when the
transition commits; the alerts worker's sender claims, sends, retries and records them like
any other. One row per (incident, page and event, subscriber, email): the outbox's unique
constraint makes a repeated transition write nothing twice. The recipient is
``subscriber:<id>``; the message is worded here (``build``) with the resources' public
names only — no URL, cause, region or internal name — and a one-click unsubscribe link.
"""

from datetime import datetime
from html import escape
from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from alerts.delivery import enqueue_pending_after_commit
from alerts.messages import Message, register_outside_recipient
from alerts.models import Incident, Notification, NotificationEvent
from alerts.signals import incident_changed
from status import report_mail
from status.models import StatusPage, StatusPageResource, Subscriber
from status.sources import sources_of

PREFIX = report_mail.PREFIX  # one recipient form for both kinds of subscriber mail
EVENT_OF = {
    "started": NotificationEvent.ALERT,
    "acknowledged": NotificationEvent.ACKNOWLEDGED,
    "resolved": NotificationEvent.RECOVERY,
}
WORDING = {
    NotificationEvent.ALERT: ("Outage", "{names} went down at {at}."),
    NotificationEvent.ACKNOWLEDGED: ("Update", "{names}: the team is working on the outage that began at {at}."),
    NotificationEvent.RECOVERY: ("Resolved", "{names} is back up since {at}."),
}


def names_concerned(page: StatusPage, incident: Incident, *, now: datetime) -> list[str]:
    """Public names of ``page``'s resources that stand for the incident's source."""
    resources = list(StatusPageResource.objects.filter(status_page=page))
    found = sources_of(resources, team_id=page.team_id, now=now)
    return [
        resource.public_name or f"Service {resource.pk}"
        for resource in resources
        if found[resource.pk].source_type == incident.source_type and incident.source_id in found[resource.pk].ids
    ]


def _step(page_id: int, event: str) -> str:
    return f"status-page-{page_id}/{event}"


@receiver(incident_changed, sender=Incident)
def _tell_subscribers(sender: Any, incident: Incident, transition: str, **kwargs: Any) -> None:
    event = EVENT_OF.get(transition)
    if event is None or incident.source_id is None:
        return
    now = timezone.now()
    pages = StatusPage.objects.filter(team_id=incident.team_id, subscribable=True, published=True)
    rows = []
    for page in pages:
        if not names_concerned(page, incident, now=now):
            continue
        for subscriber_id, email in Subscriber.objects.filter(status_page=page, confirmed_at__isnull=False).values_list(
            "pk", "email"
        ):
            rows.append(
                Notification(
                    incident=incident,
                    event=event,
                    step=_step(page.pk, event),
                    recipient=f"{PREFIX}{subscriber_id}",
                    kind="email",
                    address=email,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        enqueue_pending_after_commit([incident.pk], now=now)


def build(row: Notification, incident: Incident | None) -> Message | None:
    """The subscriber's mail for ``row``; None when they unsubscribed since it was written.

    Rows about a report (no incident) are worded by status.report_mail."""
    if incident is None:
        return report_mail.build(row)
    subscriber = report_mail.confirmed_subscriber(row)
    if subscriber is None:
        return None
    page = subscriber.status_page
    names = ", ".join(names_concerned(page, incident, now=timezone.now())) or "A service"
    word, sentence = WORDING[NotificationEvent(row.event)]
    moment = incident.resolved_at if row.event == NotificationEvent.RECOVERY else incident.started_at
    text_line = sentence.format(names=names, at=f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "now")
    return report_mail.subscriber_message(
        row,
        subscriber,
        incident_id=incident.pk,
        title=f"{word}: {names}",
        text=f"{text_line}\n",
        html=f"<p>{escape(text_line)}</p>",
        thread=f"incident-{incident.pk}",
    )


register_outside_recipient(PREFIX, build)
