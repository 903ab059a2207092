"""Outbound HTTP for alert delivery: one httpx.AsyncClient per event loop and one error policy.

Status codes map to retry decisions here, once: 2xx delivered; 408, 425, 429 and 5xx are
worth retrying; every other 4xx means the provider rejected this message and will keep
rejecting it, so it is a permanent failure (retrying a 400 forever pages nobody).

The private-address guard: channel URLs (webhook, Slack, Teams, ntfy) are typed in by
teams through the API, so in a shared installation they are user input just like probe
targets, and a webhook to 169.254.169.254 or an internal admin port is a server-side
request forgery. They go through ``PHAROS_ALLOW_PRIVATE_TARGETS`` like monitors do, and
through the probes' own guard (``probes.guard.resolve``): the name is resolved **once**,
every address it gives is vetted, and the connection goes to the vetted address
(``PinnedBackend``, httpcore's network backend, is told it for this request alone and
refuses to open a connection to anything it was not told). The request itself keeps the
name, so the Host header, the TLS server name and the certificate check are the name's,
and the keep-alive pool is keyed by the name: a connection whose certificate was checked
for one name never carries a request for another name that resolved to the same address.
Nothing resolves the name a second time, so a DNS answer that changes between the check
and the connection (rebinding) cannot reach inside. Provider endpoints that come from
settings (PagerDuty, Telegram, the SMS API) are the operator's own choice and are not
guarded, but are pinned the same way. Redirects are not followed, so a public URL cannot
bounce a delivery to a private one, and proxies named in the environment are not used,
since a proxy would resolve the name again.
"""

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpcore
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


# The vetted address of each name, for the request being sent in this task only.
_pins: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("alert_http_pins", default=None)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections to the address ``post`` vetted for the name, never by resolving it.

    httpcore opens a connection in the task of the request that needs it, so the pins of
    that request (a context variable) are the ones in force. A name without a pin is
    refused: no code path here may fall back to a resolution of its own.
    """

    def __init__(self) -> None:
        self.backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = (_pins.get() or {}).get(host)
        if address is None:
            raise httpcore.ConnectError(f"{host} was not resolved and vetted for this request")
        return await self.backend.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("alert delivery does not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=20)


def _pinned_transport() -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(limits=LIMITS)
    # httpx has no argument for the network backend: its pool (``_pool``) is replaced by
    # the same httpcore pool with ours, and httpx's TLS context (certifi, or SSL_CERT_FILE
    # / SSL_CERT_DIR when set). Should an httpx upgrade rename the attribute, refuse to
    # send at all rather than send through a pool that resolves names again.
    if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        raise RuntimeError("this httpx keeps its connection pool elsewhere; alert connections cannot be pinned")
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=LIMITS.max_connections,
        max_keepalive_connections=LIMITS.max_keepalive_connections,
        keepalive_expiry=LIMITS.keepalive_expiry,
        network_backend=PinnedBackend(),
    )
    return transport


def _new_client() -> httpx.AsyncClient:
    timeout = settings.PHAROS_ALERT_HTTP_TIMEOUT
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        headers={"User-Agent": f"Pharos/{settings.VERSION} (alerts)"},
        transport=_pinned_transport(),
        # No HTTP(S)_PROXY / ALL_PROXY from the environment: a proxy would resolve the
        # name again, wherever it then points, around the pinned connection. (httpx
        # already skips them when given a transport; this keeps it so if that changes.)
        trust_env=False,
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


async def pinned(url: str, *, guard: bool) -> tuple[str, str]:
    """``(host, the vetted address to connect to)`` for ``url``.

    The one resolution of the name: PermanentError when it is refused (a private address
    while that is not allowed, a numeric host form), TransientError when it does not resolve.
    """
    target = httpx.URL(url)
    # The host as sent, IDNA-encoded and without brackets: what the guard's resolver takes
    # and what httpcore will ask PinnedBackend about.
    host = target.raw_host.decode("ascii")
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
    return host, addresses[0]


async def post(url: str, *, guard: bool, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """POST and classify the answer. Returns the response on 2xx, raises DeliveryError otherwise."""
    host, address = await pinned(url, guard=guard)
    token = _pins.set({host: address})
    try:
        response = await client().post(url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        raise TransientError(f"timed out after {settings.PHAROS_ALERT_HTTP_TIMEOUT:g} s") from None
    except httpx.HTTPError as error:
        raise TransientError(f"{type(error).__name__}: {error}") from None
    finally:
        _pins.reset(token)
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
