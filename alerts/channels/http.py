"""Outbound HTTP for alert delivery: one httpx.AsyncClient per event loop and one error policy.

Status codes map to retry decisions here, once: 2xx delivered; 408, 425, 429 and 5xx are
worth retrying; every other 4xx means the provider rejected this message and will keep
rejecting it, so it is a permanent failure (retrying a 400 forever pages nobody).

The private-address guard: channel URLs (webhook, Slack, Teams, ntfy) are typed in by
teams through the API, so in a shared installation they are user input just like probe
targets, and a webhook to 169.254.169.254 or an internal admin port is a server-side
request forgery. They go through ``PHAROS_ALLOW_PRIVATE_TARGETS`` like monitors do, and
through the probes' own guard (``probes.guard.resolve``): the name is resolved **once**,
every address it gives is vetted, and the request connects to the vetted address, with
the name kept in the ``Host`` header and as the TLS server name (httpx's public
``sni_hostname`` extension), so certificates are still checked against the name. Nothing
resolves the name a second time, so a DNS answer that changes between the check and the
connection (rebinding) cannot reach inside. Provider endpoints that come from settings
(PagerDuty, Telegram, the SMS API) are the operator's own choice and are not guarded, but
are pinned the same way. Redirects are not followed, so a public URL cannot bounce a
delivery to a private one.
"""

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx
from django.conf import settings

from alerts.channels.base import PermanentError, TransientError
from probes.failures import ProbeError, TargetDown
from probes.guard import AddressPolicy, resolve

RETRYABLE_STATUS = {408, 425, 429}
ERROR_BODY_LIMIT = 300

# One client per event loop (the sender's loop lives as long as its process); a
# ``scoped_client`` (one synchronous delivery) overrides it for its own loop's lifetime.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = weakref.WeakKeyDictionary()
_scoped: contextvars.ContextVar[httpx.AsyncClient | None] = contextvars.ContextVar("alert_http_client", default=None)


def _new_client() -> httpx.AsyncClient:
    timeout = settings.PHAROS_ALERT_HTTP_TIMEOUT
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        headers={"User-Agent": f"Pharos/{settings.VERSION} (alerts)"},
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=20),
    )


def client() -> httpx.AsyncClient:
    """The running loop's client (made on first use in that loop)."""
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = _new_client()
    return _clients[loop]


@contextlib.asynccontextmanager
async def scoped_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client for one short-lived loop (``asyncio.run`` of one delivery), closed after."""
    async with _new_client() as fresh:
        token = _scoped.set(fresh)
        try:
            yield fresh
        finally:
            _scoped.reset(token)


async def pinned(url: str, *, guard: bool) -> tuple[httpx.URL, str, str]:
    """``(url with the vetted address as host, Host header, TLS server name)`` for ``url``.

    The one resolution of the name: PermanentError when it is refused (a private address
    while that is not allowed, a numeric host form), TransientError when it does not resolve.
    """
    target = httpx.URL(url)
    host = target.host
    if not host:
        raise PermanentError(f"{url!r} has no host")
    policy = AddressPolicy(
        allow_private=settings.PHAROS_ALLOW_PRIVATE_TARGETS or not guard,
        allowed_networks=settings.PHAROS_ALLOWED_NETWORKS,
    )
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        addresses = await resolve(asyncio.get_running_loop(), host, port, policy=policy)
    except ProbeError as error:
        raise PermanentError(f"{host}: {error}; set PHAROS_ALLOW_PRIVATE_TARGETS to allow it") from None
    except TargetDown as error:
        raise TransientError(f"cannot resolve {host}: {error}") from None
    host_header = target.netloc.decode("ascii")
    return target.copy_with(host=addresses[0]), host_header, host


async def post(url: str, *, guard: bool, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """POST and classify the answer. Returns the response on 2xx, raises DeliveryError otherwise."""
    address_url, host_header, server_name = await pinned(url, guard=guard)
    try:
        response = await client().post(
            address_url,
            headers={**(headers or {}), "Host": host_header},
            extensions={"sni_hostname": server_name},
            **kwargs,
        )
    except httpx.TimeoutException:
        raise TransientError(f"timed out after {settings.PHAROS_ALERT_HTTP_TIMEOUT:g} s") from None
    except httpx.HTTPError as error:
        raise TransientError(f"{type(error).__name__}: {error}") from None
    raise_for_status(response)
    return response


def raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"HTTP {status}: {response.text[:ERROR_BODY_LIMIT]}".strip()
    if status in RETRYABLE_STATUS or status >= 500:
        raise TransientError(detail)
    raise PermanentError(detail)
