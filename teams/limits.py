"""How many monitors and heartbeats one team may have (``PHAROS_TEAM_MAX_MONITORS``,
``PHAROS_TEAM_MAX_HEARTBEATS``).

One team must not be able to fill the scheduler and the region workers for everybody.
``claim_room`` is exact under concurrent creates: it locks the team's row
(``SELECT … FOR UPDATE``) before counting, so two creates of the same team count one
after the other, and the lock is held until the creating transaction commits. Call it
inside that transaction, before the insert. (SQLite, the quick start, has one writer at
a time, so the count is exact there without the lock.)
"""

from django.conf import settings
from django.db import models

from teams.models import Team


class LimitReached(Exception):
    pass


def claim_room(team: Team, rows: models.QuerySet, *, limit: int, what: str, setting: str) -> None:
    """Raise LimitReached when ``rows`` (the team's monitors or heartbeats) already
    number ``limit``; otherwise return holding the team's row lock."""
    Team.objects.select_for_update().filter(pk=team.pk).values_list("pk", flat=True).first()
    if rows.count() >= limit:
        raise LimitReached(f"this team already has {limit} {what}, the most allowed ({setting}); delete some first")


def claim_room_for(team: Team, model: type[models.Model]) -> None:
    """``claim_room`` for a new row of ``model`` (a Monitor, a Heartbeat): its limit is
    the setting the model names in ``team_limit_setting``."""
    setting: str = model.team_limit_setting
    claim_room(
        team,
        model._default_manager.filter(team=team),
        limit=getattr(settings, setting),
        what=str(model._meta.verbose_name_plural),
        setting=setting,
    )
