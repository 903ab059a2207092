"""The Atom feed (RFC 4287) of a page's incidents and reports: ``/status/<subdomain>/feed.atom``
and, on a page's custom domain, ``/feed.atom``.

Built from the same snapshot as the page (status.snapshot), so it names what the page
names and nothing more: resources by public name, times, the team's own report updates,
and regions only when the page opts in. It lives in the page cache under its own variant,
refreshed by the same state changes, and is locked behind the page's password like
``index.json``.
"""

import re
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import escape

from config.jsonapi.timestamps import format_timestamp
from status.models import StatusPage
from status.public import ATOM, _admitted, _headers, _page_of_host, _published, _serve, cached_answer
from status.snapshot import page_snapshot

ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 50  # within the page's history window, whichever is fewer

# Characters XML 1.0 cannot carry at all, not even escaped: a stray control character in a
# report would otherwise make the whole feed unparsable for every reader.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    return _NOT_XML.sub("", str(value))


def page_url(page: StatusPage) -> str:
    return f"{settings.PHAROS_BASE_URL}/status/{page.subdomain}/"


def _tag(page: StatusPage, specific: str) -> str:
    # RFC 4151 tag URIs: permanent ids that survive the page changing its subdomain or domain.
    host = urlsplit(settings.PHAROS_BASE_URL).hostname or "localhost"
    return f"tag:{host},{page.created_at:%Y-%m-%d}:status-page/{page.pk}{specific}"


def _entries(snapshot: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    items = [("incident" if item["id"].startswith("incident-") else "report", item) for item in snapshot["ongoing"]]
    items += [("maintenance", item) for item in snapshot["maintenance"]]
    items += [
        ("incident" if item["id"].startswith("incident-") else "report", item)
        for day in snapshot["past_days"]
        for item in day["incidents"]
    ]
    # Newest first by when it began (upcoming maintenance on top), as the page lists them; an
    # entry keeps its place as it is updated, its <updated> telling readers it changed.
    items.sort(key=lambda pair: (pair[1]["started_at"], pair[1]["updated_at"]), reverse=True)
    return items[:MAX_ENTRIES]


def _content(kind: str, item: dict[str, Any]) -> str:
    """The entry's body as escaped HTML (Atom ``type="html"``)."""
    parts = []
    if item["resources"]:
        parts.append(f"<p>Affected: {escape(', '.join(item['resources']))}</p>")
    if kind == "incident":
        if item["resolved_local"]:
            parts.append(
                f"<p>From {escape(item['started_local'])} to {escape(item['resolved_local'])} ({escape(item['duration'])}).</p>"
            )
        else:
            parts.append(f"<p>Ongoing since {escape(item['started_local'])}.</p>")
    elif item["resolved_local"]:
        parts.append(f"<p>{escape(item['started_local'])} – {escape(item['resolved_local'])}</p>")
    else:
        parts.append(f"<p>Since {escape(item['started_local'])}</p>")
    if item.get("regions"):
        parts.append(f"<p>Seen from {escape(', '.join(item['regions']))}</p>")
    for update in item["updates"]:
        parts.append(f"<p><strong>{escape(update['published_local'])}</strong> — {escape(update['message'])}</p>")
    return "\n".join(parts)


def _child(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, name, {key: _text(value) for key, value in attributes.items()})
    if text is not None:
        element.text = _text(text)
    return element


def feed_document(page: StatusPage, snapshot: dict[str, Any]) -> str:
    """The feed as XML text, newest entry first, at most ``MAX_ENTRIES`` entries."""
    url = page_url(page)
    entries = _entries(snapshot)
    # Unprefixed names under a default xmlns: readers see every element in the Atom namespace.
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    _child(feed, "id", _tag(page, ""))
    _child(feed, "title", f"{page.company_name} status")
    _child(feed, "subtitle", f"Incidents and maintenance of {page.company_name}")
    updated = max([format_timestamp(page.updated_at), *(item["updated_at"] for _, item in entries)])
    _child(feed, "updated", updated)
    _child(feed, "link", rel="alternate", type="text/html", href=url)
    _child(feed, "link", rel="self", type="application/atom+xml", href=f"{url}feed.atom")
    author = _child(feed, "author")
    _child(author, "name", page.company_name)
    _child(feed, "generator", "Pharos")
    for kind, item in entries:
        entry = _child(feed, "entry")
        _child(entry, "id", _tag(page, f"/{item['id']}"))
        title = item["title"]
        if kind == "incident" and item["resolved_at"]:
            title = f"{title} (resolved)"
        elif kind == "maintenance":
            title = f"Planned maintenance: {title}"
        _child(entry, "title", title)
        _child(entry, "updated", item["updated_at"])
        _child(entry, "published", item["started_at"])
        _child(entry, "link", rel="alternate", type="text/html", href=f"{url}#{item['id']}")
        _child(entry, "category", term=kind)
        _child(entry, "content", _content(kind, item), type="html")
    ET.indent(feed)
    return ET.tostring(feed, encoding="unicode", xml_declaration=True)


def status_page_feed(request: HttpRequest, subdomain: str) -> HttpResponse:
    cached = cached_answer(request, subdomain, "atom")  # the crowd's path, as the page's
    if cached is not None:
        return cached
    page = _published(subdomain)
    if not _admitted(request, page):
        response = HttpResponse("This status page is protected by a password", status=401, content_type="text/plain")
        return _headers(response, page)
    return _serve(request, page, "atom", ATOM, lambda: feed_document(page, page_snapshot(page, now=timezone.now())))


def site_root_feed(request: HttpRequest) -> HttpResponse:
    """``/feed.atom`` of the page whose ``custom_domain`` is the request's Host."""
    page = _page_of_host(request)
    if page is None:
        raise Http404("No such status page")
    return status_page_feed(request, page.subdomain)
