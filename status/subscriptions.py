"""Email subscriptions to a page: sign-up, double opt-in, one-click unsubscribe.

* ``subscribe`` (POST, the form on the public page): a valid address gets a row (or finds
  its old one) and, unless already confirmed, a mail with a signed confirm link. The answer
  is the same whether the address was new, pending or confirmed, so the form does not tell
  strangers who is subscribed.
* ``confirm``: GET shows a button, POST activates (link scanners that fetch every URL in a
  mail do not subscribe anyone).
* ``unsubscribe``: GET shows a button, POST deletes the row — the POST is also what mail
  clients send for ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).

All three are csrf-exempt: the page that holds the form is one cached rendering shared by
every visitor, and the confirm and unsubscribe tokens are themselves the authority.
"""

import logging
import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from status.models import StatusPage, Subscriber

log = logging.getLogger(__name__)

CONFIRM_SALT = "status.subscriber.confirm"
CONFIRM_MAX_AGE = 7 * 86400
EMAIL_LIMIT = 254
# At most one confirmation mail per address and page in this many seconds: the form cannot be
# used to flood someone's inbox (the answer stays the same).
RESEND_AFTER = 600


def _subscribable(subdomain: str) -> StatusPage:
    page = StatusPage.objects.filter(subdomain=subdomain.lower()[:63], published=True, subscribable=True).first()
    if page is None:
        raise Http404("No such status page")
    return page


def confirm_url(subscriber: Subscriber) -> str:
    token = signing.dumps([subscriber.pk, subscriber.email], salt=CONFIRM_SALT)
    path = reverse("status-confirm", kwargs={"subdomain": subscriber.status_page.subdomain, "token": token})
    return settings.PHAROS_BASE_URL + path


def unsubscribe_url(subscriber: Subscriber) -> str:
    path = reverse(
        "status-unsubscribe",
        kwargs={"subdomain": subscriber.status_page.subdomain, "token": subscriber.unsubscribe_token},
    )
    return settings.PHAROS_BASE_URL + path


def sign_up(page: StatusPage, email: str) -> Subscriber:
    """The row for ``email`` on ``page``, created unconfirmed if new (a racing twin finds it)."""
    try:
        with transaction.atomic():
            subscriber, _ = Subscriber.objects.get_or_create(
                status_page=page, email=email, defaults={"unsubscribe_token": secrets.token_urlsafe(32)}
            )
    except IntegrityError:
        subscriber = Subscriber.objects.get(status_page=page, email=email)
    return subscriber


def send_confirmation(subscriber: Subscriber) -> None:
    page = subscriber.status_page
    EmailMessage(
        subject=f"Confirm your subscription to {page.company_name} status"[:250],
        body=(
            f"Someone (hopefully you) asked to receive {page.company_name} status updates at this address.\n\n"
            f"Confirm: {confirm_url(subscriber)}\n\n"
            "If it was not you, ignore this mail: nothing will be sent without the confirmation.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    ).send(fail_silently=False)


def _answer(request: HttpRequest, page: StatusPage, state: str, *, status: int = 200, **extra: object) -> HttpResponse:
    response = render(request, "status/subscription.html", {"page": page, "state": state, **extra}, status=status)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@csrf_exempt
def subscribe(request: HttpRequest, subdomain: str) -> HttpResponse:
    page = _subscribable(subdomain)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    email = request.POST.get("email", "")[: EMAIL_LIMIT + 1].strip().lower()
    try:
        if len(email) > EMAIL_LIMIT:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        return _answer(request, page, "invalid", status=422)
    subscriber = sign_up(page, email)
    if subscriber.confirmed_at is None and cache.add(f"status-confirm-sent:{subscriber.pk}", 1, RESEND_AFTER):
        try:
            send_confirmation(subscriber)
        except Exception:
            # The visitor sees the same answer; the operator sees why nobody got the mail.
            log.exception("status page %s: could not send a subscription confirmation", page.pk)
    log.info("status page %s: a sign-up", page.pk, extra={"status_page": page.pk})
    return _answer(request, page, "check-inbox")


@csrf_exempt
def confirm(request: HttpRequest, subdomain: str, token: str) -> HttpResponse:
    page = _subscribable(subdomain)
    try:
        subscriber_id, email = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return _answer(request, page, "bad-link", status=404)
    subscriber = Subscriber.objects.filter(pk=subscriber_id, email=email, status_page=page).first()
    if subscriber is None:
        return _answer(request, page, "bad-link", status=404)
    if request.method == "POST":
        # Conditional: confirming twice keeps the first moment.
        Subscriber.objects.filter(pk=subscriber.pk, confirmed_at__isnull=True).update(confirmed_at=timezone.now())
        log.info("status page %s: subscriber %s confirmed", page.pk, subscriber.pk)
        return _answer(request, page, "confirmed")
    return _answer(request, page, "confirm-button")


@csrf_exempt
def unsubscribe(request: HttpRequest, subdomain: str, token: str) -> HttpResponse:
    page = StatusPage.objects.filter(subdomain=subdomain.lower()[:63]).first()
    if page is None:
        raise Http404("No such status page")
    subscriber = Subscriber.objects.filter(status_page=page, unsubscribe_token=token[:64]).first()
    if request.method == "POST":
        if subscriber is not None:
            subscriber.delete()
            log.info("status page %s: subscriber %s unsubscribed", page.pk, subscriber.pk)
        return _answer(request, page, "unsubscribed")
    if subscriber is None:
        return _answer(request, page, "unsubscribed")
    return _answer(request, page, "unsubscribe-button", email=subscriber.email)
