"""The public pages' cache: what a page shows is rendered once, stored as finished bytes
(and their gzip), and served from Django's cache (Redis in production) until a state
change or age makes it stale.

Entries are keyed by subdomain, so a cached hit needs no ORM query and no template: read
the entry, compare its generation with the team's, answer its bytes.

An entry is small (its ETag, age, generation and what answering needs of the page); the
bytes live apart, under their ETag, which is a hash of them and so never changes meaning.
Each process keeps the bytes it has served (``_LOCAL``, a few pages), so a hit costs one
round trip for two small values (the entry and the team's generation) instead of moving
the whole page (half a megabyte at 50 resources × 90 days) out of Redis for every visitor.

An incident opening or resolving, or a page, section, resource or report changing, moves
the team's generation on; an entry rendered under an older generation is stale at once.
Age bounds what the hooks cannot see (a deleted incident, a day rolling over, a weekly
maintenance window opening): an entry is fresh for ``FRESH`` seconds and kept for ``TTL``.
Between the two, and while the generation moved on, one process re-renders (the one that
wins ``cache.add`` of the lock) and the others serve the entry meanwhile, instead of all
rendering at once when an outage brings the crowd; nothing served is older than ``TTL``.
"""

import gzip
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from alerts.models import Incident
from alerts.signals import incident_changed
from status.models import StatusPage, StatusPageResource, StatusPageSection, StatusReport, StatusUpdate

log = logging.getLogger(__name__)

TTL = 30  # seconds: the "never more than 30 s stale"
FRESH = TTL // 2  # seconds: re-rendered after this, so a render in flight never outlives TTL
# The bytes outlive any entry naming them (they are written first and kept longer), so an
# entry read from the cache finds its bytes unless Redis evicted them; then it is a miss.
BYTES_TTL = TTL + 10
LOCAL_PAGES = 32  # bytes kept per process: a page's plain and gzipped forms count two

PLAIN = "plain"
GZIP = "gzip"


class _LocalBytes:
    """A small LRU of bytes by (ETag, encoding): immutable values, so never stale."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()  # gthread workers: one dict, many request threads

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: bytes) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_LOCAL = _LocalBytes(LOCAL_PAGES)
# cache key → team, learned from entries: lets a hit fetch the entry and the team's
# generation in one round trip. Only a guess; an entry of another team is checked again.
_TEAM_OF_ENTRY: dict[str, int] = {}


@dataclass(frozen=True)
class Rendition:
    """A rendered page or document as the cache holds it: its ETag (the bytes are kept apart,
    under it), when and under which generation it was rendered, and what answering it
    needs of the page."""

    etag: str
    rendered_at: float  # epoch seconds
    generation: int
    page_id: int
    team_id: int
    password_enabled: bool
    hide_from_search_engines: bool

    @property
    def age(self) -> float:
        return time.time() - self.rendered_at

    def content(self, encoding: str) -> bytes | None:
        """The bytes in ``encoding`` (PLAIN or GZIP); None if the cache lost them."""
        key = (self.etag, encoding)
        value = _LOCAL.get(key)
        if value is None:
            value = cache.get(_bytes_key(self.etag, encoding))
            if value is not None:
                _LOCAL.put(key, value)
        return value

    @property
    def body(self) -> bytes:
        return self.content(PLAIN) or b""


def _generation_key(team_id: int) -> str:
    return f"status:generation:{team_id}"


def _entry_key(subdomain: str, variant: str) -> str:
    return f"status:page:{subdomain.lower()[:63]}:{variant}"


def _bytes_key(etag: str, encoding: str) -> str:
    return f"status:bytes:{etag.strip(chr(34))}:{encoding}"


def generation(team_id: int) -> int:
    return cache.get(_generation_key(team_id)) or 0


def refresh_team(team_id: int) -> None:
    """Every page of the team renders afresh on its next request."""
    cache.set(_generation_key(team_id), time.time_ns(), None)
    log.debug("status pages of team %s refreshed", team_id)


def _with_generation(key: str) -> tuple[Any, int]:
    """The value under ``key`` (an entry with a ``team_id``) and its team's current generation,
    in one round trip once this process has seen the key's team."""
    team_id = _TEAM_OF_ENTRY.get(key)
    if team_id is None:
        value, current = cache.get(key), 0
    else:
        found = cache.get_many([key, _generation_key(team_id)])
        value, current = found.get(key), found.get(_generation_key(team_id), 0)
    if value is not None and value.team_id != team_id:
        _TEAM_OF_ENTRY[key] = value.team_id
        current = generation(value.team_id)
    return value, current


def fresh_rendition(subdomain: str, variant: str) -> Rendition | None:
    """The hot path: the entry for ``subdomain`` if it is fresh, without touching the database."""
    entry, current = _with_generation(_entry_key(subdomain, variant))
    if entry is None or entry.age >= FRESH or entry.generation != current:
        return None
    return entry


@dataclass(frozen=True)
class HostEntry:
    """A custom domain's page, as last looked up; void once the team's generation moves on."""

    subdomain: str
    team_id: int
    generation: int


def _host_key(host: str) -> str:
    return f"status:host:{host[:253]}"


def remember_host(host: str, page: StatusPage) -> None:
    """``host`` (a custom domain) serves ``page``: the cached route answers it without a query."""
    cache.set(_host_key(host), HostEntry(page.subdomain, page.team_id, generation(page.team_id)), TTL)


def subdomain_of_host(host: str) -> str | None:
    """The subdomain of the page ``host`` serves, if remembered under the team's current
    generation: a page's save moves it on, so a domain removed or moved is never followed."""
    found, current = _with_generation(_host_key(host))
    return found.subdomain if found is not None and found.generation == current else None


def rendition(page: StatusPage, variant: str, build: Callable[[], str]) -> Rendition:
    """``build()``'s text for ``page`` (``variant``: html, json …), as a rendition, from the cache if fresh."""
    key = _entry_key(page.subdomain, variant)
    current_generation = generation(page.team_id)
    entry: Rendition | None = cache.get(key)
    if entry is not None and entry.content(PLAIN) is None:
        entry = None  # the cache evicted its bytes
    if entry is not None and entry.generation == current_generation and entry.age < FRESH:
        return entry
    lock = f"{key}:rendering:{current_generation}:{entry.rendered_at if entry else 0}"
    if entry is not None and entry.page_id == page.pk and not cache.add(lock, 1, TTL):
        return entry  # another process renders the new state; this one is at most TTL old
    body = build().encode()
    zipped = gzip.compress(body, compresslevel=6)
    etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    # Bytes first, the entry naming them last: a reader never finds an entry without bytes.
    cache.set_many({_bytes_key(etag, PLAIN): body, _bytes_key(etag, GZIP): zipped}, BYTES_TTL)
    _LOCAL.put((etag, PLAIN), body)
    _LOCAL.put((etag, GZIP), zipped)
    entry = Rendition(
        etag=etag,
        rendered_at=time.time(),
        generation=current_generation,
        page_id=page.pk,
        team_id=page.team_id,
        password_enabled=page.password_enabled,
        hide_from_search_engines=page.hide_from_search_engines,
    )
    cache.set(key, entry, TTL)
    log.debug("status page %s (%s) rendered: %d bytes, %d gzipped", page.pk, variant, len(body), len(zipped))
    return entry


@receiver(incident_changed, sender=Incident)
def _incident_changed(sender: Any, incident: Incident, **kwargs: Any) -> None:
    team_id = incident.team_id
    transaction.on_commit(lambda: refresh_team(team_id))


def _team_of(instance: Any) -> int | None:
    if isinstance(instance, StatusPage):
        return instance.team_id
    if isinstance(instance, StatusUpdate):
        return (
            StatusPage.objects.filter(reports__pk=instance.status_report_id).values_list("team_id", flat=True).first()
        )
    return StatusPage.objects.filter(pk=instance.status_page_id).values_list("team_id", flat=True).first()


def _page_content_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    team_id = _team_of(instance)
    if team_id is not None:
        transaction.on_commit(lambda: refresh_team(team_id))


for _model in (StatusPage, StatusPageSection, StatusPageResource, StatusReport, StatusUpdate):
    post_save.connect(_page_content_changed, sender=_model, dispatch_uid=f"status-cache-{_model.__name__}-save")
    post_delete.connect(_page_content_changed, sender=_model, dispatch_uid=f"status-cache-{_model.__name__}-delete")
