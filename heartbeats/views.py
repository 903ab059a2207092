"""The ping URL: ``/api/v1/heartbeat/<token>[/fail|/start|/<exit_code>]``.

No authentication (the token is the secret), no CSRF, no session, no caching. GET, POST
and HEAD all count. The body is read only up to ``PHAROS_PING_BODY_LIMIT`` bytes — a job
that pipes a gigabyte of logs into curl costs us the limit, not the gigabyte — and the
response announces that limit in ``X-Pharos-Ping-Body-Limit``.
"""

import codecs
import ipaddress
import re

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from heartbeats.known_tokens import is_known_token
from heartbeats.models import PingKind
from heartbeats.ping import PingData, record_ping
from heartbeats.ping_batch import GROUP_COMMIT_KEY, batcher

ALLOWED_METHODS = ("GET", "POST", "HEAD")
MAX_TOKEN_LENGTH = 64
EXIT_CODE = re.compile(r"^[+-]?\d{1,12}$")


@csrf_exempt
def ping(request, token, action=None):
    if request.method not in ALLOWED_METHODS:
        return _answer(405, "Method not allowed", Allow=", ".join(ALLOWED_METHODS))
    kind, exit_code, problem = parse_action(action)
    if problem:
        return _answer(400, problem)
    if len(token) > MAX_TOKEN_LENGTH:
        return _answer(404, "Not found")
    if _has_body(request) and not is_known_token(token):
        # Before reading a byte of the body: see heartbeats.known_tokens.
        return _answer(404, "Not found")

    body, truncated = read_body(request, settings.PHAROS_PING_BODY_LIMIT)
    data = PingData(
        kind=kind,
        exit_code=exit_code,
        method=request.method,
        remote_addr=client_address(request.META, settings.PHAROS_TRUSTED_PROXIES),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        body=body,
        body_truncated=truncated,
    )
    group_commit = request.META.get(GROUP_COMMIT_KEY, False)
    if record_ping_reconnecting(token, data, now=timezone.now(), group_commit=group_commit) is None:
        return _answer(404, "Not found")
    return _answer(200, "OK")


def record_ping_reconnecting(token, data, *, now, group_commit=False):
    """``record_ping`` without the health-check round trip Django would send first.

    With ``group_commit`` (the lean WSGI route on PostgreSQL) a success is first offered
    to the worker's writer thread (heartbeats.ping_batch); what it does not take is
    recorded here.

    With CONN_HEALTH_CHECKS, Django opens each request's first query on a reused
    connection with a ``SELECT 1``: on a ping that is one query in two. We skip it and
    pay only when the connection did die while idle (a database restart): the first
    statement fails, and we reconnect and record the ping once more. A connection that
    breaks after the commit but before the answer could store that ping twice; a
    duplicate is harmless where a lost ping is not.
    """
    database = connections[DEFAULT_DB_ALIAS]  # the proxy's per-attribute lookups add up here
    if group_commit and data.kind == PingKind.SUCCESS and database.vendor == "postgresql":
        if batcher.record(token, data, now=now):
            return True
    reused = database.connection is not None and not database.in_atomic_block
    if reused and database.health_check_enabled:
        database.health_check_done = True
    try:
        return record_ping(token, data, now=now)
    except (InterfaceError, OperationalError):
        if not reused:
            raise
        database.close()
        return record_ping(token, data, now=now)


def parse_action(action):
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


def read_body(request, limit):
    """The body as text, cut to ``limit`` bytes, and whether anything was cut.

    Bytes that are not UTF-8 become U+FFFD, a multi-byte character split by the cut is
    dropped whole, and NUL (which PostgreSQL text cannot hold) becomes U+FFFD too.
    """
    if limit <= 0:
        return "", _has_body(request)
    if not request.META.get("CONTENT_LENGTH") and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # `curl -T -` streams a job's output chunked, with no Content-Length; Django then
        # reads nothing, but the server's input stream (gunicorn de-chunks it) has it all.
        raw = request.META["wsgi.input"].read(limit + 1)
    else:
        raw = request.read(limit + 1)
    truncated = len(raw) > limit
    if truncated:
        raw = raw[:limit]
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(raw, final=not truncated)
    return text.replace("\x00", "\ufffd"), truncated


def _has_body(request):
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return True
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


def client_address(meta, trusted_proxies):
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
                return candidate
            break
    return remote if remote and _is_ip(remote) else None


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _answer(status, text, **headers):
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["X-Pharos-Ping-Body-Limit"] = str(settings.PHAROS_PING_BODY_LIMIT)
    # Pings must reach us every time: no cache between the job and Pharos may answer them.
    response["Cache-Control"] = "no-store"
    # Jobs running in a browser (or a status page) may ping too.
    response["Access-Control-Allow-Origin"] = "*"
    for name, value in headers.items():
        response[name] = value
    return response
