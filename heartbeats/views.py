"""The ping URL: ``/api/v1/heartbeat/<token>[/fail|/start|/<exit_code>]``, its HTTP side.

No authentication (the token is the secret), no CSRF, no session, no caching. GET, POST
and HEAD all count. The body is read only up to ``PHAROS_PING_BODY_LIMIT`` bytes — a job
that pipes a gigabyte of logs into curl costs us the limit, not the gigabyte — and the
response announces that limit in ``X-Pharos-Ping-Body-Limit``.

Two doors lead to one answer (``answer_ping``); what a ping does to a heartbeat is
heartbeats.ping's business, not this module's:

- ``ping_route(application)``, the WSGI application config/wsgi.py puts in front of
  Django. It answers ping URLs itself, as plain WSGI, and hands every other request to
  ``application``. The ping needs nothing of Django's request handling — no session,
  user, CSRF check, messages, static files or clickjacking header on a text/plain "OK" —
  and on this, the hottest path, the middleware chain was about a third of the CPU a
  ping costs; matching one regular expression instead of resolving against every
  pattern of the project saved a sixth more. The Host header is not checked against
  ALLOWED_HOSTS here (CommonMiddleware does that elsewhere): the ping builds no URL from it.
  Pings on this route may be group-committed (heartbeats.ping_sql.PingBatcher).
- ``ping``, the Django view heartbeats/urls.py registers, for every other way in (the
  test client, a server given Django's own WSGI application).
"""

import codecs
import ipaddress
import logging
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from heartbeats.known_tokens import is_known_token
from heartbeats.models import PingKind
from heartbeats.ping import PingData, receive

ALLOWED_METHODS = ("GET", "POST", "HEAD")
MAX_TOKEN_LENGTH = 64
EXIT_CODE = re.compile(r"^[+-]?\d{1,12}$")
# The URL forms of docs/api.md; heartbeats/urls.py registers the same expression for the
# view. The token is URL-safe base64; anything else cannot be one of ours.
PING_PATTERN = r"api/v1/heartbeat/(?P<token>[A-Za-z0-9_-]+)(?:/(?P<action>[^/]+))?/?$"
PING_PATH = re.compile("^/" + PING_PATTERN)

Reader = Callable[[int], bytes]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Django's own handler logs failed requests on this logger; so do we, for the same handlers.
request_log = logging.getLogger("django.request")


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def header_items(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("X-Pharos-Ping-Body-Limit", str(settings.PHAROS_PING_BODY_LIMIT)),
            # Pings must reach us every time: no cache between the job and Pharos may answer them.
            ("Cache-Control", "no-store"),
            # Jobs running in a browser (or a status page) may ping too.
            ("Access-Control-Allow-Origin", "*"),
            *self.headers.items(),
        ]


def answer_ping(
    method: str, token: str, action: str | None, meta: Mapping[str, Any], read: Reader, *, group_commit: bool
) -> Answer:
    """The answer to a ping request; ``read(n)`` reads at most n bytes of its body."""
    if method not in ALLOWED_METHODS:
        return Answer(405, "Method not allowed", {"Allow": ", ".join(ALLOWED_METHODS)})
    kind, exit_code, problem = parse_action(action)
    if problem is not None or kind is None:
        return Answer(400, problem or "Bad request")
    if len(token) > MAX_TOKEN_LENGTH:
        return Answer(404, "Not found")
    if _has_body(meta) and not is_known_token(token):
        # Before reading a byte of the body: see heartbeats.known_tokens.
        return Answer(404, "Not found")

    body, truncated = read_body(meta, read, settings.PHAROS_PING_BODY_LIMIT)
    data = PingData(
        kind=kind,
        exit_code=exit_code,
        method=method,
        remote_addr=client_address(meta, settings.PHAROS_TRUSTED_PROXIES),
        user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
        body=body,
        body_truncated=truncated,
    )
    if not receive(token, data, now=timezone.now(), group_commit=group_commit):
        return Answer(404, "Not found")
    return Answer(200, "OK")


def _ping_view(request: HttpRequest, token: str, action: str | None = None) -> HttpResponse:
    answer = answer_ping(request.method or "", token, action, request.META, request.read, group_commit=False)
    response = HttpResponse(answer.text, status=answer.status)
    for name, value in answer.header_items():
        response[name] = value
    return response


# The token is the credential: there is no session a forged request could ride on.
ping: Callable[..., HttpResponse] = csrf_exempt(_ping_view)


def ping_route(application: WSGIApp) -> WSGIApp:
    """``application``, except that ping URLs are answered here (see the module's docstring)."""

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = PING_PATH.match(environ.get("PATH_INFO", ""))
        if match is None:
            return application(environ, start_response)
        try:
            answer = answer_ping(
                environ.get("REQUEST_METHOD", ""),
                match["token"],
                match["action"],
                environ,
                _body_reader(environ),
                group_commit=True,
            )
        except (BadRequest, SuspiciousOperation) as error:
            # config.edge turns a body that timed out (a BadRequest) into its 408.
            request_log.warning("Bad Request: %s (%s)", _loggable(match), error)
            answer = Answer(400, "Bad request")
            release_connection(broken=False)
        except Exception:
            # Logged and answered like Django's handler would, never a crashed worker; the
            # connection is closed since the failure may have left it unusable.
            request_log.exception("Internal Server Error: %s", _loggable(match))
            answer = Answer(500, "Internal server error")
            release_connection(broken=True)
        else:
            release_connection(broken=False)
        content = answer.text.encode()
        status = HTTPStatus(answer.status)
        start_response(
            f"{status.value} {status.phrase}", [*answer.header_items(), ("Content-Length", str(len(content)))]
        )
        return [content]

    return route


def _loggable(match: re.Match[str]) -> str:
    # The token is the heartbeat's credential: logs name it by its first characters only.
    path = f"/api/v1/heartbeat/{match['token'][:4]}…"
    return path + (f"/{match['action']}" if match["action"] else "")


def _body_reader(environ: dict[str, Any]) -> Reader:
    """Reads of the body that never go past its Content-Length (the WSGI rule)."""
    stream = environ["wsgi.input"]
    try:
        left = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        left = 0

    def read(size: int) -> bytes:
        nonlocal left
        if left == 0:
            return b""
        data: bytes = stream.read(min(size, left))
        left -= len(data)
        return data

    return read


# --- the route's database connection ----------------------------------------------------------
#
# Django's handler recycles connections from its request_started/request_finished
# signals (CONN_MAX_AGE, connections left broken). The ping route does the same with
# public parts only: the connection_created signal dates each connection, and after each
# ping one past its age, or one a failure may have left broken, is closed. What it does
# not do is re-arm CONN_HEALTH_CHECKS before each ping: heartbeats.ping.receive finds a
# connection that died while idle by its first statement and records the ping on a new one.

_opened_at: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()


def _date_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    _opened_at[connection] = time.monotonic()


connection_created.connect(_date_connection, dispatch_uid="heartbeats.views.date_connection")


def release_connection(*, broken: bool) -> None:
    """Close this thread's connection if it is past CONN_MAX_AGE or may be ``broken``."""
    database = connections[DEFAULT_DB_ALIAS]
    opened_at = _opened_at.get(database)
    if opened_at is None:
        return  # not opened since we last closed it: nothing to release
    max_age = settings.DATABASES[DEFAULT_DB_ALIAS].get("CONN_MAX_AGE", 0)
    if broken or (max_age is not None and time.monotonic() - opened_at >= max_age):
        database.close()
        _opened_at.pop(database, None)


# --- reading the request ----------------------------------------------------------------------


def parse_action(action: str | None) -> tuple[str | None, int | None, str | None]:
    """(kind, exit_code, problem) for the part of the path after the token."""
    if action is None or action == "":
        return PingKind.SUCCESS, None, None
    if action == "fail":
        return PingKind.FAIL, None, None
    if action == "start":
        return PingKind.START, None, None
    if EXIT_CODE.match(action):
        code = int(action)
        if 0 <= code <= 255:
            return (PingKind.SUCCESS if code == 0 else PingKind.FAIL), code, None
    return None, None, "Exit code must be an integer from 0 to 255, or use /fail or /start"


def read_body(meta: Mapping[str, Any], read: Reader, limit: int) -> tuple[str, bool]:
    """The body as text, cut to ``limit`` bytes, and whether anything was cut.

    Bytes that are not UTF-8 become U+FFFD, a multi-byte character split by the cut is
    dropped whole, and NUL (which PostgreSQL text cannot hold) becomes U+FFFD too.
    """
    if limit <= 0:
        return "", _has_body(meta)
    if not meta.get("CONTENT_LENGTH") and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        # `curl -T -` streams a job's output chunked, with no Content-Length; a reader
        # bounded by Content-Length reads nothing, but the server's input stream
        # (gunicorn de-chunks it) has it all.
        raw: bytes = meta["wsgi.input"].read(limit + 1)
    else:
        raw = read(limit + 1)
    truncated = len(raw) > limit
    if truncated:
        raw = raw[:limit]
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(raw, final=not truncated)
    return text.replace("\x00", "\ufffd"), truncated


def _has_body(meta: Mapping[str, Any]) -> bool:
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return True
    try:
        return int(meta.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


def client_address(meta: Mapping[str, Any], trusted_proxies: Iterable[str] | None) -> str | None:
    """The caller's IP: REMOTE_ADDR, or from X-Forwarded-For when the peer is a trusted proxy.

    X-Forwarded-For is read right to left, skipping our own trusted proxies, because only
    the entries they appended can be believed; anything further left the client wrote.
    """
    remote = meta.get("REMOTE_ADDR") or None
    if remote and trusted_proxies and remote in trusted_proxies:
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        for candidate in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            if candidate in trusted_proxies:
                continue
            if _is_ip(candidate):
                return str(candidate)
            break
    return str(remote) if remote and _is_ip(remote) else None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
