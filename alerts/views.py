"""The one-click acknowledge link from alert emails (and chat messages).

GET shows the incident and a button; the button POSTs and acknowledges. Acknowledging on
GET would let mail scanners and link previews (which fetch every link in a message)
silence a real outage before a human read it. The page has no script either, and says so
in its Content-Security-Policy: a scanner that renders pages and runs their scripts (some
do, in a headless browser) must not be able to press the button for us — a person
clicks it. The token is signed and expires
(``PHAROS_ACK_LINK_MAX_AGE``); it names the address it was sent to, which becomes
``acknowledged_by``. The token is the credential, so the POST needs no session or CSRF
cookie (the link is opened from a mail client, logged out).
"""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alerts.incidents import acknowledge_incident
from alerts.messages import read_acknowledgement
from alerts.models import Incident

# No script may run on the page, so nothing but a person's click can submit its form.
NO_SCRIPTS = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    response = _acknowledge(request, token)
    response["Content-Security-Policy"] = NO_SCRIPTS
    return response


def _acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    try:
        incident_id, actor = read_acknowledgement(token, max_age=settings.PHAROS_ACK_LINK_MAX_AGE)
    except signing.SignatureExpired:
        return render(request, "alerts/acknowledge.html", {"state": "expired"}, status=410)
    except (signing.BadSignature, ValueError, KeyError, TypeError):
        return render(request, "alerts/acknowledge.html", {"state": "invalid"}, status=404)
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return render(request, "alerts/acknowledge.html", {"state": "invalid"}, status=404)
    if request.method == "POST":
        if acknowledge_incident(incident_id, by=actor or "email link", now=timezone.now()):
            incident.refresh_from_db()
            return render(request, "alerts/acknowledge.html", {"state": "acknowledged", "incident": incident})
        incident.refresh_from_db()
        return render(request, "alerts/acknowledge.html", {"state": "already", "incident": incident}, status=409)
    state = "confirm" if incident.acknowledged_at is None and incident.resolved_at is None else "already"
    return render(request, "alerts/acknowledge.html", {"state": state, "incident": incident})
