"""The public pages' cache: what a page shows is rendered once, stored as finished bytes
(and their gzip), and served from Django's cache (Redis in production) until a state
change or age makes it stale.

Entries are keyed by subdomain, so a cached hit needs no ORM query and no template: read
the entry, compare its generation with the team's, answer its bytes.

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
import time
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


@dataclass(frozen=True)
class Rendition:
    """A rendered page or document, ready to send, and what answering it needs of the page."""

    body: bytes
    gzipped: bytes
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


def _generation_key(team_id: int) -> str:
    return f"status:generation:{team_id}"


def _entry_key(subdomain: str, variant: str) -> str:
    return f"status:rendition:{subdomain.lower()[:63]}:{variant}"


def generation(team_id: int) -> int:
    return cache.get(_generation_key(team_id)) or 0


def refresh_team(team_id: int) -> None:
    """Every page of the team renders afresh on its next request."""
    cache.set(_generation_key(team_id), time.time_ns(), None)
    log.debug("status pages of team %s refreshed", team_id)


def fresh_rendition(subdomain: str, variant: str) -> Rendition | None:
    """The hot path: the entry for ``subdomain`` if it is fresh, without touching the database."""
    entry = cache.get(_entry_key(subdomain, variant))
    if entry is None or entry.age >= FRESH or entry.generation != generation(entry.team_id):
        return None
    return entry


def rendition(page: StatusPage, variant: str, build: Callable[[], str]) -> Rendition:
    """``build()``'s text for ``page`` (``variant``: html, json …), as a rendition, from the cache if fresh."""
    key = _entry_key(page.subdomain, variant)
    current_generation = generation(page.team_id)
    entry: Rendition | None = cache.get(key)
    if entry is not None and entry.generation == current_generation and entry.age < FRESH:
        return entry
    lock = f"{key}:rendering:{current_generation}:{entry.rendered_at if entry else 0}"
    if entry is not None and entry.page_id == page.pk and not cache.add(lock, 1, TTL):
        return entry  # another process renders the new state; this one is at most TTL old
    body = build().encode()
    entry = Rendition(
        body=body,
        gzipped=gzip.compress(body, compresslevel=6),
        etag=f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"',
        rendered_at=time.time(),
        generation=current_generation,
        page_id=page.pk,
        team_id=page.team_id,
        password_enabled=page.password_enabled,
        hide_from_search_engines=page.hide_from_search_engines,
    )
    cache.set(key, entry, TTL)
    log.debug("status page %s (%s) rendered: %d bytes, %d gzipped", page.pk, variant, len(body), len(entry.gzipped))
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
