"""What a notification says: one rendering of an incident per event, shared by every kind.

Email uses the text and HTML bodies, chat integrations the title and text, the webhook the
JSON payload (the incident in the API's own attribute names). Alert messages carry a
signed acknowledge link; the link names who it was sent to, so the timeline says who
clicked it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse

ACK_SALT = "alerts.acknowledge"

EVENT_WORDS = {
    "alert": ("Down", "incident.started"),
    "acknowledged": ("Acknowledged", "incident.acknowledged"),
    "recovery": ("Recovered", "incident.resolved"),
}


@dataclass(frozen=True)
class Message:
    event: str
    incident_id: int | None  # None for a status page's report (status.report_mail)
    title: str
    text: str
    html: str
    cause: str
    ack_url: str
    incident_url: str
    payload: dict
    critical: bool = False
    # Set for recipients outside the team (a status page's subscribers): their own subject
    # line and headers (List-Unsubscribe) instead of the alert's.
    subject: str = ""
    headers: dict = field(default_factory=dict)


# Outbox rows for people outside the team are written and worded by the app that knows
# them (status pages: "subscriber:<id>"): recipient prefix → builder(row, incident), which
# returns the Message, or None when the recipient is gone (the row is then skipped).
OUTSIDE_RECIPIENTS: dict[str, Callable] = {}


def register_outside_recipient(prefix: str, build: Callable) -> None:
    OUTSIDE_RECIPIENTS[prefix] = build


def outside_builder(recipient: str) -> Callable | None:
    """The builder for an outside recipient ("subscriber:12"), None for members and channels."""
    return OUTSIDE_RECIPIENTS.get(recipient.split(":", 1)[0] + ":")


def _iso(moment):
    """docs/api.md's timestamp shape: ISO 8601 UTC with milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sign_acknowledgement(incident_id, actor):
    """A token for the one-click acknowledge link; expiry is checked when it is used."""
    return signing.TimestampSigner(salt=ACK_SALT).sign_object({"i": incident_id, "a": actor[:254]})


def read_acknowledgement(token, *, max_age):
    """``(incident_id, actor)`` from a token; raises signing.SignatureExpired / BadSignature."""
    value = signing.TimestampSigner(salt=ACK_SALT).unsign_object(token, max_age=max_age)
    return int(value["i"]), str(value["a"])


def acknowledge_url(incident_id, actor):
    path = reverse("alerts:acknowledge", kwargs={"token": sign_acknowledgement(incident_id, actor)})
    return settings.PHAROS_BASE_URL + path


def incident_url(incident_id):
    return f"{settings.PHAROS_BASE_URL}/admin/alerts/incident/{incident_id}/change/"


def incident_payload(incident, event):
    """The webhook body: the event name and the incident as the API names its attributes."""
    return {
        "event": EVENT_WORDS[event][1],
        "data": {
            "id": str(incident.pk),
            "type": "incident",
            "attributes": {
                "name": incident.name,
                "url": incident.url,
                "http_method": incident.http_method.lower(),
                "cause": incident.cause,
                "started_at": _iso(incident.started_at),
                "acknowledged_at": incident.acknowledged_at and _iso(incident.acknowledged_at),
                "acknowledged_by": incident.acknowledged_by or None,
                "resolved_at": incident.resolved_at and _iso(incident.resolved_at),
                "resolved_by": incident.resolved_by or None,
                "status": incident.status,
                "regions": list(incident.regions or []),
                "response_content": incident.response_content or None,
                "metadata": incident.metadata or {},
                "team_name": incident.team.name,
                "source_type": incident.source_type,
                "source_id": incident.source_id and str(incident.source_id),
            },
        },
    }


def build_message(incident, event, *, ack_actor=""):
    """Render ``incident`` for ``event`` ("alert", "acknowledged", "recovery").

    ``ack_actor`` (an address or channel name) puts a signed acknowledge link in an alert.
    """
    word = EVENT_WORDS[event][0]
    subject_name = incident.name or incident.url or f"incident #{incident.pk}"
    ack_url = acknowledge_url(incident.pk, ack_actor) if event == "alert" and ack_actor else ""
    context = {
        "incident": incident,
        "event": event,
        "word": word,
        "subject_name": subject_name,
        "ack_url": ack_url,
        "incident_url": incident_url(incident.pk),
        "max_age_hours": settings.PHAROS_ACK_LINK_MAX_AGE // 3600,
    }
    return Message(
        event=event,
        incident_id=incident.pk,
        title=f"{word}: {subject_name}",
        text=render_to_string("alerts/incident.txt", context).strip() + "\n",
        html=render_to_string("alerts/incident.html", context),
        cause=incident.cause,
        ack_url=ack_url,
        incident_url=context["incident_url"],
        payload=incident_payload(incident, event),
        critical=incident.critical_alert,
    )
