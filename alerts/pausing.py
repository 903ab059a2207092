"""Pausing, resuming and rescheduling a monitor or a heartbeat: the one rule the API, the
admin and the groups (alerts.source_groups) all go through.

A source kind describes itself once in a ``SourcePausing`` (monitors.pausing,
heartbeats.pausing): the fields a pause and a resume write, what a pause must also do
(monitors: withdraw their queued checks) and how an active source is (re)scheduled. Then:

- ``change_pause`` pauses or resumes one source, its own pause and its group's deciding
  together (alerts.source_groups rules 1, 3, 4);
- ``reschedule`` moves an active source's next deadline after its schedule changed;
- ``save_edit`` writes an API PATCH of a source and then what follows from it (the pause,
  the group's pause, the deadline); the admin saves through ``reschedule`` likewise
  (alerts.alertable_admin);
- ``GroupMembers`` (alerts.source_groups) applies the same fields to a group's members.

Races: each transition is a conditional UPDATE on the ``paused_at`` it read, so of an API
PATCH and an admin action pausing one source at the same moment exactly one pauses it
(and withdraws its checks once); the group row is locked first, as a member's write does.
"""

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction

from alerts.alertable import AlertableSource
from alerts.source_groups import SourceGroup, lock_group, member_pause

log = logging.getLogger(__name__)

PAUSED = "paused"
# "The group as it is now": look it up (and lock it) from the source.
CURRENT_GROUP: Any = object()


@dataclass(frozen=True)
class SourcePausing:
    model: type[AlertableSource]
    group_model: type[SourceGroup]
    group_field: str  # the source's foreign key to its group, e.g. "monitor_group"
    # What a resumed source gets besides ``paused_at = NULL``: its status, and the run
    # state that a pause made stale (a monitor's failing_since, a heartbeat's deadline).
    resumed_fields: Callable[[datetime], dict[str, Any]]
    # What a pause must also do beyond the row (monitors: withdraw queued checks).
    after_pause: Callable[[list[int], datetime], None] | None = None
    # The fields that give an active source its next deadline, or None to leave them.
    schedule: Callable[[Any, datetime], dict[str, Any] | None] | None = None
    # The claim a reschedule makes: it only moves a source still in this state.
    schedule_claim: Callable[[Any], dict[str, Any]] = lambda source: {}
    # The attributes whose change moves an active source's deadline.
    schedule_fields: tuple[str, ...] = ()

    def next_deadline(self, source: Any, now: datetime) -> dict[str, Any]:
        """The fields that give an active source its next deadline ({} for none)."""
        return (self.schedule(source, now) or {}) if self.schedule is not None else {}

    def schedule_changes(self, source: Any, values: Mapping[str, Any]) -> bool:
        """Whether writing ``values`` on ``source`` changes its schedule."""
        return any(name in values and values[name] != getattr(source, name) for name in self.schedule_fields)

    def paused_fields(self, now: datetime) -> dict[str, Any]:
        return {"paused_at": now, "status": PAUSED}

    def rows(self) -> models.QuerySet:
        return self.model._default_manager.all()


def change_pause(
    pausing: SourcePausing,
    source: AlertableSource,
    *,
    paused: bool | None,
    now: datetime,
    group: SourceGroup | None = CURRENT_GROUP,
    actor: str = "",
) -> bool:
    """Pause (``paused=True``) or resume (``False``) ``source``; ``None`` only re-decides
    after a move between groups. ``group`` is the group it is in after the caller's write,
    locked; by default its current one, locked here. Returns True when the source went
    from active to paused or back; the instance is updated to what was written."""
    with transaction.atomic():
        if group is CURRENT_GROUP:
            group_id = getattr(source, f"{pausing.group_field}_id")
            group = lock_group(pausing.group_model, getattr(source, "team_id"), group_id)  # noqa: B009
        now_paused, with_group = member_pause(instance=source, paused_requested=paused, group=group)
        fields: dict[str, Any] = {"paused_with_group": with_group}
        was_paused = source.paused_at is not None
        if now_paused and not was_paused:
            fields.update(pausing.paused_fields(now))
        elif not now_paused and was_paused:
            fields.update({"paused_at": None, **pausing.resumed_fields(now)})
            if pausing.schedule is not None:
                fields.update(pausing.schedule(_as_written(source, fields), now) or {})
        # Claimed on the pause state read above: of two writers racing, one moves it.
        claimed = pausing.rows().filter(pk=source.pk, paused_at__isnull=not was_paused).update(updated_at=now, **fields)
        if not claimed:
            return False
        for name, value in fields.items():
            setattr(source, name, value)
        setattr(source, "updated_at", now)  # noqa: B010
        moved = now_paused != was_paused
        if moved and now_paused and pausing.after_pause is not None:
            pausing.after_pause([source.pk], now)
    if moved:
        log.info(
            "%s %s %s%s",
            pausing.model._meta.model_name,
            source.pk,
            "paused" if now_paused else "resumed",
            f" by {actor}" if actor else "",
            extra={pausing.model._meta.model_name: source.pk},
        )
    return moved


def reschedule(pausing: SourcePausing, source: AlertableSource, *, now: datetime) -> bool:
    """Give an active source its deadline under a schedule that just changed. Claimed on
    the state the deadline was computed from, so a ping, sweep or round that moved the
    source meanwhile is not overwritten. Returns True when it was moved."""
    if source.paused_at is not None or pausing.schedule is None:
        return False
    fields = pausing.schedule(source, now)
    if not fields:
        return False
    claimed = (
        pausing.rows().filter(pk=source.pk, paused_at__isnull=True, **pausing.schedule_claim(source)).update(**fields)
    )
    if claimed:
        for name, value in fields.items():
            setattr(source, name, value)
    return bool(claimed)


def save_edit(
    pausing: SourcePausing,
    source: AlertableSource,
    fields: Collection[str],
    *,
    paused: bool | None,
    schedule_changed: bool,
    group: SourceGroup | None = CURRENT_GROUP,
    now: datetime,
) -> None:
    """Write an edit of ``source`` whose new values ``fields`` are already set on it, then
    what follows: its own pause and its group's deciding together (``change_pause``) when
    ``paused`` is given or it moved between groups, and a new deadline when its schedule
    changed and no resume gave it one already."""
    # Only what the edit changed: rounds, pings and the sweep write the status and the
    # deadlines of the same row.
    source.save(update_fields=[*fields, "updated_at"])
    resumed = False
    if paused is not None or f"{pausing.group_field}_id" in fields:
        resumed = change_pause(pausing, source, paused=paused, group=group, now=now) and source.paused_at is None
    if schedule_changed and not resumed:
        reschedule(pausing, source, now=now)


def _as_written(source: AlertableSource, fields: dict[str, Any]) -> Any:
    """A copy of ``source`` with ``fields`` applied, for computing what follows from them."""
    copy = type(source)(**{f.attname: getattr(source, f.attname) for f in source._meta.concrete_fields})
    for name, value in fields.items():
        setattr(copy, name, value)
    return copy
