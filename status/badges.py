"""Public status badges of monitors and heartbeats: ``/badge/<token>.svg`` (an image for a
README or a wiki) and ``/badge/<token>.json`` (shields.io's "endpoint" schema).

A badge says only the source's name and one word (up, down, paused, pending,
maintenance); the token is the only way to it, random and unguessable, so a team decides
which sources are public by handing out their badge URLs (shown in the admin). Each badge
is read fresh from the database (one indexed row) and may be kept by caches for ``TTL``
seconds: the status pages' "never more than 30 s stale".
"""

import json
import logging
import re
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from alerts.maintenance import is_in_maintenance
from heartbeats.models import Heartbeat
from monitors.models import Monitor
from status.models import Badge
from status.page_cache import TTL

log = logging.getLogger(__name__)

# message → (shields.io colour name, the same colour for our own SVG)
COLOURS = {
    "up": ("brightgreen", "#4c1"),
    "down": ("red", "#e05d44"),
    "maintenance": ("blue", "#007ec6"),
    "paused": ("lightgrey", "#9f9f9f"),
    "pending": ("lightgrey", "#9f9f9f"),
}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def badge_of(source: Monitor | Heartbeat) -> Badge:
    """The source's badge, created on first use (the admin showing it)."""
    field = "monitor" if isinstance(source, Monitor) else "heartbeat"
    badge = Badge.objects.filter(**{field: source}).first()
    if badge is not None:
        return badge
    try:
        with transaction.atomic():
            badge = Badge.objects.create(**{field: source})
    except IntegrityError:  # another request created it first: the one-to-one's unique index
        return Badge.objects.get(**{field: source})
    log.info("badge %s made for %s %s", badge.pk, field, source.pk)
    return badge


def badge_url(badge: Badge, kind: str = "svg") -> str:
    return f"{settings.PHAROS_BASE_URL}/badge/{badge.token}.{kind}"


def label_of(source: Monitor | Heartbeat) -> str:
    # A monitor without a pronounceable name would otherwise show its URL, which may be internal.
    name = source.name if isinstance(source, Heartbeat) else source.pronounceable_name
    return _NOT_XML.sub("", name).strip()[:100] or "status"


def message_of(source: Monitor | Heartbeat, *, now: datetime) -> str:
    """up, down, paused, pending or maintenance: paused and a maintenance window win over the
    stored status (which stays up/down through a window, heartbeats.maintenance)."""
    if source.paused_at is not None or source.status == "paused":
        return "paused"
    if source.status == "maintenance" or is_in_maintenance(source, now=now):
        return "maintenance"
    if source.status == "validating":
        return "up"  # a failure being confirmed: no incident, and the status page still says operational
    return source.status if source.status in COLOURS else "pending"


# Verdana 11 px advance widths, roughly, as shields.io measures its text: enough to size the
# two halves so that the text neither overflows nor floats in space.
_NARROW = set("fijlrtI!|.,:;'()[] ")
_WIDE = set("mwMW@%")


def _text_width(text: str) -> int:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 4.0
        elif char in _WIDE:
            width += 10.0
        elif char.isupper() or char.isdigit() or not char.isascii():
            width += 7.5
        else:
            width += 6.5
    return round(width)


def svg(label: str, message: str) -> str:
    """A flat badge in shields.io's look: valid XML, every text escaped."""
    colour = COLOURS[message][1]
    left, right = _text_width(label) + 10, _text_width(message) + 10
    total = left + right
    title = f"{label}: {message}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="15" fill="#010101" fill-opacity=".3">{escape(label)}</text>'
        f'<text x="{left / 2}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="15" fill="#010101" fill-opacity=".3">{escape(message)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(message)}</text></g></svg>'
    )


def badge(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    found = Badge.objects.select_related("monitor", "heartbeat").filter(token=token).first()
    source = None if found is None else (found.monitor or found.heartbeat)
    if source is None:
        raise Http404("No such badge")
    label, message = label_of(source), message_of(source, now=timezone.now())
    if kind == "json":
        body = {"schemaVersion": 1, "label": label, "message": message, "color": COLOURS[message][0]}
        response = HttpResponse(json.dumps(body), content_type="application/json")
        # shields.io fetches it server-side; a dashboard's own script may fetch it too.
        response["Access-Control-Allow-Origin"] = "*"
    else:
        response = HttpResponse(svg(label, message), content_type="image/svg+xml; charset=utf-8")
        # Opened on its own, the image must run nothing, whatever a name contains.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = f"public, max-age={TTL}"
    return response


def badge_admin_html(source: Monitor | Heartbeat) -> str:
    """The admin's view of a source's badge: the image, its URLs and a Markdown snippet."""
    if source.pk is None:
        return "—"
    found = badge_of(source)
    image, endpoint = badge_url(found, "svg"), badge_url(found, "json")
    shields = f"https://img.shields.io/endpoint?url={quote(endpoint, safe='')}"
    return format_html(
        '<img src="{}" alt="status badge"><br>SVG: <code>{}</code><br>shields.io endpoint: <code>{}</code><br>'
        "Markdown: <code>![{}]({})</code><br>Via shields.io: <code>{}</code>",
        image,
        image,
        endpoint,
        label_of(source),
        image,
        shields,
    )
