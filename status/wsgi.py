"""A lean WSGI route for the public status pages' cached hits.

When an outage sends a team's customers to its page all at once, nearly every request is
a GET of a fresh, public rendition (status.page_cache) — the page, its ``index.json`` or
its ``feed.atom`` — at ``/status/<subdomain>/``, or at the root of the page's custom
domain once that domain has been looked up. Such a hit needs none of what the project's
full chain does — no session, no user, no CSRF, no messages, no time zone, no walk
through every URL pattern (admin and API first) — only what the page's answer must
carry: the security headers (``SecurityMiddleware``, with
its HTTPS redirect when configured), the ``ALLOWED_HOSTS`` check (``CommonMiddleware``)
and ``X-Frame-Options`` (``XFrameOptionsMiddleware``). Those three run here, as
Django's documented middleware callables around ``status.public.cached_answer``;
everything else — a miss, a stale entry, a protected page, a POST, an unknown page or
domain, a disallowed host, the root of any other host — goes to the project's
application untouched, which answers it as before.

config/wsgi.py wraps the project's application with ``with_cached_status_pages``.
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware

from status.public import cached_answer, cached_root_answer

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# status/urls.py's public routes (the page, index.json, feed.atom): by subdomain (<slug:…>
# is Django's [-a-zA-Z0-9_]+) and, on a custom domain, by Host at the root.
STATUS_PATH = re.compile(r"/(?:status/(?P<subdomain>[-a-zA-Z0-9_]+)/)?(?P<document>index\.json|feed\.atom)?\Z")
VARIANTS = {None: "html", "index.json": "json", "feed.atom": "atom"}


class _Miss(HttpResponse):
    """What the inner view answers when the cache cannot: the full application takes over."""


def _cached_view(request: HttpRequest) -> HttpResponse:
    match = STATUS_PATH.match(request.path_info)
    assert match is not None  # the route only sends matching paths here
    variant = VARIANTS[match["document"]]
    if match["subdomain"] is None:
        answer = cached_root_answer(request, variant)
    else:
        answer = cached_answer(request, match["subdomain"], variant)
    return _Miss() if answer is None else answer


def with_cached_status_pages(application: WSGIApp) -> WSGIApp:
    """``application``, except that cached status page hits skip its middleware and URL walk."""
    chain = SecurityMiddleware(CommonMiddleware(XFrameOptionsMiddleware(_cached_view)))

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or not STATUS_PATH.match(environ.get("PATH_INFO", "")):
            return application(environ, start_response)
        try:
            response = chain(WSGIRequest(environ))
        except Exception:  # noqa: BLE001 - a disallowed host, a broken cache: the full application answers (and logs) it
            return application(environ, start_response)
        if isinstance(response, _Miss):
            return application(environ, start_response)
        # As django.core.handlers.wsgi.WSGIHandler sends a response.
        headers = [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return response

    dispatch.application = application  # type: ignore[attr-defined]
    return dispatch
