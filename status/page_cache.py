"""The public pages' cache: what a page shows is rendered once and served from Django's
cache (Redis in production) until a state change or ``TTL`` makes it stale.

Keys carry a per-team generation. An incident opening or resolving, or a page, section,
resource or report changing, moves the team's generation on, so the next request renders
afresh; a render that was in flight meanwhile stores under the old generation, which no
one asks for again. The TTL bounds what the hooks cannot see (a deleted incident, a day
rolling over, a weekly maintenance window opening): never more than ``TTL`` seconds stale.
"""

import logging
import time
from collections.abc import Callable
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


def _generation_key(team_id: int) -> str:
    return f"status:generation:{team_id}"


def generation(team_id: int) -> int:
    return cache.get(_generation_key(team_id)) or 0


def refresh_team(team_id: int) -> None:
    """Every page of the team renders afresh on its next request."""
    cache.set(_generation_key(team_id), time.time_ns(), None)
    log.debug("status pages of team %s refreshed", team_id)


def cached(page: StatusPage, variant: str, build: Callable[[], Any]) -> Any:
    """``build()``'s value for ``page`` (``variant``: html, json …), from the cache if fresh.

    When the current rendering is missing, one process renders it (the one that wins
    ``cache.add`` of the lock); the others serve the latest rendering meanwhile, itself
    at most ``TTL`` old, instead of all rendering at once when an outage brings the crowd.
    """
    base = f"status:page:{page.pk}:{variant}"
    key = f"{base}:{generation(page.team_id)}:{page.updated_at.timestamp()}"
    value = cache.get(key)
    if value is not None:
        return value
    if not cache.add(f"{key}:rendering", 1, TTL):
        latest = cache.get(f"{base}:latest")
        if latest is not None:
            return latest
    value = build()
    cache.set_many({key: value, f"{base}:latest": value}, TTL)
    return value


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
