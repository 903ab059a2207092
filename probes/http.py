"""HTTP(S) monitors: status, expected_status_code, keyword, keyword_absence.

Redirects are followed here, not by an httpx client, for three reasons: every hop must
pass the private-address guard (the transport resolves and judges each hop's host),
cookies must travel across the hops of *one* check and never leak into another
monitor's check, and the phases of all hops add up to the check's response time.
"""

from __future__ import annotations

import base64
import functools
from importlib import metadata
from typing import TYPE_CHECKING

import httpx

from probes.failures import ProbeError, TargetDown
from probes.tls import check_expiry
from probes.transport import OPTIONS, RequestOptions

if TYPE_CHECKING:
    from probes.runner import ProbeContext
    from probes.spec import CheckSpec, Outcome
    from probes.timing import Trace

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
FALLBACK_VERSION = "0.1.0"


def pharos_version() -> str:
    try:
        return metadata.version("pharos")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


def user_agent(region: str) -> str:
    return f"Pharos/{pharos_version()} (region {region})"


@functools.lru_cache(maxsize=8192)
def target_url(target: str) -> httpx.URL:
    """The parsed URL of a monitor's target. Cached: the same monitors come round every
    interval and parsing costs half of building a request."""
    return httpx.URL(target if "://" in target else f"http://{target}")


def request_headers(spec: CheckSpec, context: ProbeContext) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    names: set[str] = set()
    for name, value in spec.headers:
        lowered = name.lower()
        if lowered == "x-pharos-region":
            continue  # ours, always: the target's logs must be able to trust it
        headers.append((name, value))
        names.add(lowered)
    if "user-agent" not in names:
        headers.append(("User-Agent", context.user_agent))
    if "accept" not in names:
        headers.append(("Accept", "*/*"))
    if spec.auth and "authorization" not in names:
        username, password = spec.auth
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers.append(("Authorization", f"Basic {token}"))
    headers.append(("X-Pharos-Region", context.region))
    return headers


def first_request(spec: CheckSpec, context: ProbeContext, trace: Trace) -> httpx.Request:
    options = RequestOptions(trace, verify_ssl=spec.verify_ssl, ip_version=spec.ip_version)
    method = (spec.method or "GET").upper()
    content = spec.body.encode() if spec.body else None
    try:
        url = target_url(spec.target)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ProbeError(f"Invalid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ProbeError(f"Invalid URL {spec.target!r}: an http:// or https:// URL with a host is required")
    if url.port is not None and not 0 < url.port < 65536:
        raise ProbeError(f"Invalid URL {spec.target!r}: port {url.port} out of range")
    return httpx.Request(
        method, url, headers=request_headers(spec, context), content=content, extensions={OPTIONS: options}
    )


def redirect_request(request: httpx.Request, response: httpx.Response) -> httpx.Request:
    """The next hop's request, as browsers build it (RFC 9110 §15.4)."""
    try:
        url = request.url.join(response.headers["location"])
    except (httpx.InvalidURL, ValueError):
        raise TargetDown("Redirect to an invalid URL") from None
    if url.scheme not in ("http", "https"):
        raise TargetDown(f"Redirect to an unsupported URL scheme {url.scheme!r}")
    method = request.method
    content: bytes | None = request.content
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302) and method == "POST"):
        method, content = "GET", None
    same_origin = (url.scheme, url.host, url.port) == (request.url.scheme, request.url.host, request.url.port)
    dropped = {"host", "cookie", "content-length", "transfer-encoding"}
    if not same_origin:
        dropped.add("authorization")  # credentials are for the origin the monitor names
    if content is None:
        dropped.add("content-type")
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in dropped]
    return httpx.Request(method, url, headers=headers, content=content or None, extensions=request.extensions)


async def probe_http(spec: CheckSpec, context: ProbeContext, trace: Trace, outcome: Outcome) -> None:
    request = first_request(spec, context, trace)
    cookies = httpx.Cookies() if spec.remember_cookies else None
    redirects = 0
    while True:
        response = await context.http_transport.handle_async_request(request)
        response.request = request
        try:
            body = await response.aread()
        except httpx.DecodingError:
            raise TargetDown(
                f"Invalid HTTP response: undecodable {response.headers.get('content-encoding')} body"
            ) from None
        if cookies is not None and "set-cookie" in response.headers:
            # extract_cookies builds a urllib/email shim (~50 us): only pay when there is a cookie.
            cookies.extract_cookies(response)
        if not (spec.follow_redirects and response.status_code in REDIRECT_STATUSES and "location" in response.headers):
            break
        if redirects >= spec.max_redirects:
            outcome.status_code = response.status_code
            raise TargetDown(f"Too many redirects (more than {spec.max_redirects})", excerpt=body)
        redirects += 1
        request = redirect_request(request, response)
        if cookies is not None:
            cookies.set_cookie_header(request)
    outcome.status_code = response.status_code
    judge(spec, response.status_code, body)
    check_expiry(trace, spec.ssl_expiration_days)


def judge(spec: CheckSpec, status_code: int, body: bytes) -> None:
    """Raise TargetDown unless the response meets the monitor's expectation.

    ``status`` wants any 2xx; the other types want one of ``expected_status_codes`` when
    the monitor lists some, else any 2xx. Keyword monitors also require the status expectation (a 503 error page that happens
    not to contain "error" is not a healthy page). The keyword is matched case-sensitively
    against the raw bytes of the (decoded, capped) body.
    """
    if spec.expected_status_codes and spec.type != "status":
        status_ok = status_code in {int(code) for code in spec.expected_status_codes}
    else:
        status_ok = 200 <= status_code < 300
    if not status_ok:
        raise TargetDown(f"Status {status_code}", excerpt=body)
    if spec.type == "keyword" and spec.keyword.encode() not in body:
        raise TargetDown(f'Keyword "{spec.keyword}" not found', excerpt=body)
    if spec.type == "keyword_absence" and spec.keyword and spec.keyword.encode() in body:
        raise TargetDown(f'Keyword "{spec.keyword}" found', excerpt=body)
