"""Outbound HTTP for alert delivery: one shared httpx client and one error policy.

Status codes map to retry decisions here, once: 2xx delivered; 408, 425, 429 and 5xx are
worth retrying; every other 4xx means the provider rejected this message and will keep
rejecting it, so it is a permanent failure (retrying a 400 forever pages nobody).

The private-address guard: channel URLs (webhook, Slack, Teams, ntfy) are typed in by
teams through the API, so in a shared installation they are user input just like probe
targets, and a webhook to 169.254.169.254 or an internal admin port is a server-side
request forgery. They go through ``PHAROS_ALLOW_PRIVATE_TARGETS`` like monitors do.
Provider endpoints that come from settings (PagerDuty, Telegram, the SMS API) are the
operator's own choice and are not guarded. Redirects are not followed, so a public URL
cannot bounce a delivery to a private one.
"""

import os
import socket
import threading
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from alerts.channels.base import PermanentError, TransientError
from probes.guard import forbidden_reason, numeric_host_form

RETRYABLE_STATUS = {408, 425, 429}
ERROR_BODY_LIMIT = 300

_client = None
_client_pid = None
_client_lock = threading.Lock()


def client():
    """The process's httpx client, made after fork so prefork children never share sockets."""
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid():
            timeout = settings.PHAROS_ALERT_HTTP_TIMEOUT
            _client = httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                follow_redirects=False,
                headers={"User-Agent": f"Pharos/{settings.VERSION} (alerts)"},
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            )
            _client_pid = os.getpid()
        return _client


def ensure_public_url(url):
    """Raise PermanentError when ``url`` resolves to a private address and that is not allowed."""
    if settings.PHAROS_ALLOW_PRIVATE_TARGETS:
        return
    host = urlsplit(url).hostname
    if not host:
        raise PermanentError(f"{url!r} has no host")
    if numeric_host_form(host):
        raise PermanentError(f"{host} spells an IPv4 address as a number; write it as a.b.c.d")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise TransientError(f"cannot resolve {host}: {error}") from None
    for info in infos:
        address = info[4][0].split("%")[0]
        reason = forbidden_reason(address)
        if reason:
            raise PermanentError(
                f"{host} resolves to the {reason} address {address}; set PHAROS_ALLOW_PRIVATE_TARGETS to allow it"
            )


def post(url, *, guard, **kwargs):
    """POST and classify the answer. Returns the response on 2xx, raises DeliveryError otherwise."""
    if guard:
        ensure_public_url(url)
    try:
        response = client().post(url, **kwargs)
    except httpx.TimeoutException:
        raise TransientError(f"timed out after {settings.PHAROS_ALERT_HTTP_TIMEOUT:g} s") from None
    except httpx.HTTPError as error:
        raise TransientError(f"{type(error).__name__}: {error}") from None
    raise_for_status(response)
    return response


def raise_for_status(response):
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"HTTP {status}: {response.text[:ERROR_BODY_LIMIT]}".strip()
    if status in RETRYABLE_STATUS or status >= 500:
        raise TransientError(detail)
    raise PermanentError(detail)
