"""The public page ``/status/<subdomain>/`` and its ``index.json``.

Both are rendered from one snapshot (status.snapshot) kept in the page cache
(status.page_cache), so an outage's crowd costs one render per state change or per
``TTL``, not one per visitor. A password-protected page answers its form until the visitor
holds a signed cookie for it; the cookie is tied to the password's hash, so changing the
password locks everyone out again.
"""

import json
import re

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from status.models import StatusPage
from status.page_cache import TTL, Rendition, fresh_rendition, rendition
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


def _answer(request: HttpRequest, entry: Rendition, content_type: str, page: StatusPage | Rendition) -> HttpResponse:
    """The rendition's bytes: gzipped when the client accepts it, nothing but a 304 when it holds them."""
    if entry.etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    elif _ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(entry.gzipped, content_type=content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(entry.body, content_type=content_type)
    response["ETag"] = entry.etag
    response["Last-Modified"] = http_date(entry.rendered_at)
    response["Vary"] = "Accept-Encoding"
    return _headers(response, page)


HTML = "text/html; charset=utf-8"
JSON = "application/json"


@csrf_exempt  # the form only unlocks reading a page; there is nothing to forge a visitor into
def status_page(request: HttpRequest, subdomain: str) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        entry = fresh_rendition(subdomain, "html")
        if entry is not None and not entry.password_enabled:  # the crowd's path: no query, no template
            return _answer(request, entry, HTML, entry)
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
    entry = rendition(
        page, "html", lambda: render_to_string("status/page.html", page_snapshot(page, now=timezone.now()))
    )
    return _answer(request, entry, HTML, page)


def status_page_json(request: HttpRequest, subdomain: str) -> HttpResponse:
    entry = fresh_rendition(subdomain, "json")
    if entry is not None and not entry.password_enabled:
        return _answer(request, entry, JSON, entry)
    page = _published(subdomain)
    if not _admitted(request, page):
        return _headers(JsonResponse({"errors": "This status page is protected by a password"}, status=401), page)
    entry = rendition(
        page,
        "json",
        lambda: json.dumps(index_document(page, page_snapshot(page, now=timezone.now())), default=str),
    )
    return _answer(request, entry, JSON, page)


def _page_of_host(request: HttpRequest) -> StatusPage | None:
    host = request.get_host().rsplit(":", 1)[0].lower().rstrip(".") if request.get_host() else ""
    return StatusPage.objects.filter(custom_domain=host, published=True).first() if host else None


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
