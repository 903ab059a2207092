"""The public page ``/status/<subdomain>/`` and its ``index.json``.

Both are rendered from one snapshot (status.snapshot) kept in the page cache
(status.page_cache), so an outage's crowd costs one render per state change or per
``TTL``, not one per visitor. A password-protected page answers its form until the visitor
holds a signed cookie for it; the cookie is tied to the password's hash, so changing the
password locks everyone out again.
"""

import json
import re
from collections.abc import Callable

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from status.models import StatusPage
from status.page_cache import (
    GZIP,
    PLAIN,
    TTL,
    Rendition,
    fresh_rendition,
    remember_host,
    rendition,
    subdomain_of_host,
)
from status.snapshot import index_document, page_snapshot

COOKIE_SALT = "status-page-password"
COOKIE_AGE = 30 * 86400


def _published(subdomain: str) -> StatusPage:
    page = StatusPage.objects.filter(subdomain=subdomain.lower()[:63], published=True).first()
    if page is None:
        raise Http404("No such status page")
    return page


def _cookie_name(page: StatusPage) -> str:
    return f"status_{page.pk}"


def _cookie_value(page: StatusPage) -> str:
    # Tied to the hash: a new password invalidates every cookie of the old one.
    return f"{page.pk}:{page.password_hash[-16:]}"


def _admitted(request: HttpRequest, page: StatusPage) -> bool:
    if not page.password_enabled:
        return True
    try:
        value = request.get_signed_cookie(_cookie_name(page), salt=COOKIE_SALT, max_age=COOKIE_AGE)
    except (KeyError, signing.BadSignature):
        return False
    return value == _cookie_value(page)


def _headers(response: HttpResponse, page: StatusPage | Rendition) -> HttpResponse:
    if page.hide_from_search_engines:
        response["X-Robots-Tag"] = "noindex, nofollow"
    # Shared caches may keep a public page as long as ours does; a protected one never.
    response["Cache-Control"] = "private, no-store" if page.password_enabled else f"public, max-age={TTL}"
    return response


_ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as django.middleware.gzip reads Accept-Encoding


def _encoding(request: HttpRequest) -> str:
    return GZIP if _ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")) else PLAIN


def _answer(
    request: HttpRequest, entry: Rendition, content_type: str, page: StatusPage | Rendition
) -> HttpResponse | None:
    """The rendition's bytes: gzipped when the client accepts it, nothing but a 304 when it
    holds them; None if the cache lost the bytes."""
    if entry.etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        encoding = _encoding(request)
        content = entry.content(encoding)
        if content is None:
            return None
        response = HttpResponse(content, content_type=content_type)
        if encoding == GZIP:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = entry.etag
    response["Last-Modified"] = http_date(entry.rendered_at)
    response["Vary"] = "Accept-Encoding"
    return _headers(response, page)


def _serve(
    request: HttpRequest, page: StatusPage, variant: str, content_type: str, build: Callable[[], str]
) -> HttpResponse:
    response = _answer(request, rendition(page, variant, build), content_type, page)
    if response is None:  # its bytes left both caches between the two calls: answer them unshared
        response = _headers(HttpResponse(build(), content_type=content_type), page)
    return response


HTML = "text/html; charset=utf-8"
JSON = "application/json"
ATOM = "application/atom+xml; charset=utf-8"
VARIANTS = {"html": HTML, "json": JSON, "atom": ATOM}


def cached_answer(request: HttpRequest, subdomain: str, variant: str) -> HttpResponse | None:
    """The crowd's path: a fresh public rendition's answer, with no query and no template; None
    when the page must be looked up (not cached, stale, protected by a password, unknown)."""
    if request.method not in ("GET", "HEAD"):
        return None
    entry = fresh_rendition(subdomain, variant)
    if entry is None or entry.password_enabled:  # a protected page's bytes only after its cookie
        return None
    return _answer(request, entry, VARIANTS[variant], entry)


@csrf_exempt  # the form only unlocks reading a page; there is nothing to forge a visitor into
def status_page(request: HttpRequest, subdomain: str) -> HttpResponse:
    cached = cached_answer(request, subdomain, "html")
    if cached is not None:
        return cached
    page = _published(subdomain)
    if page.password_enabled and not _admitted(request, page):
        if request.method == "POST":
            if page.check_password(request.POST.get("password", "")[:256]):
                response = HttpResponseRedirect(request.path)
                response.set_signed_cookie(
                    _cookie_name(page),
                    _cookie_value(page),
                    salt=COOKIE_SALT,
                    max_age=COOKIE_AGE,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure(),
                )
                return response
            return _headers(render(request, "status/password.html", {"page": page, "wrong": True}, status=403), page)
        return _headers(render(request, "status/password.html", {"page": page, "wrong": False}, status=401), page)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    return _serve(
        request,
        page,
        "html",
        HTML,
        lambda: render_to_string("status/page.html", page_snapshot(page, now=timezone.now())),
    )


def status_page_json(request: HttpRequest, subdomain: str) -> HttpResponse:
    cached = cached_answer(request, subdomain, "json")
    if cached is not None:
        return cached
    page = _published(subdomain)
    if not _admitted(request, page):
        return _headers(JsonResponse({"errors": "This status page is protected by a password"}, status=401), page)
    return _serve(
        request,
        page,
        "json",
        JSON,
        lambda: json.dumps(index_document(page, page_snapshot(page, now=timezone.now())), default=str),
    )


def host_name(request: HttpRequest) -> str:
    """The request's host without its port, as custom domains are stored (raises DisallowedHost)."""
    host = request.get_host()
    return host.rsplit(":", 1)[0].lower().rstrip(".") if host else ""


def _page_of_host(request: HttpRequest) -> StatusPage | None:
    host = host_name(request)
    page = StatusPage.objects.filter(custom_domain=host, published=True).first() if host else None
    if page is not None:
        remember_host(host, page)
    return page


def cached_root_answer(request: HttpRequest, variant: str) -> HttpResponse | None:
    """``cached_answer`` for ``/`` and ``/index.json`` of a custom domain already looked up."""
    subdomain = subdomain_of_host(host_name(request))
    return None if subdomain is None else cached_answer(request, subdomain, variant)


@csrf_exempt  # as status_page: its password form
def site_root(request: HttpRequest) -> HttpResponse:
    """``/``: the page whose ``custom_domain`` is the request's Host; anywhere else the admin."""
    page = _page_of_host(request)
    if page is None:
        return HttpResponseRedirect("/admin/")
    return status_page(request, page.subdomain)


def site_root_json(request: HttpRequest) -> HttpResponse:
    page = _page_of_host(request)
    if page is None:
        raise Http404("No such status page")
    return status_page_json(request, page.subdomain)
