"""What a page resource stands for: the incident sources (monitors or heartbeats) behind it.

A monitor or heartbeat resource is that one source; a group resource is the group's
members as they are now. A resource whose source was deleted stands for nothing and is
shown as not monitored.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from alerts.maintenance import is_in_maintenance
from alerts.models import IncidentSource
from heartbeats.models import Heartbeat, HeartbeatGroup
from monitors.models import Monitor, MonitorGroup
from status.models import ResourceType

SOURCE_TYPE_OF = {
    ResourceType.MONITOR: IncidentSource.MONITOR,
    ResourceType.MONITOR_GROUP: IncidentSource.MONITOR,
    ResourceType.HEARTBEAT: IncidentSource.HEARTBEAT,
    ResourceType.HEARTBEAT_GROUP: IncidentSource.HEARTBEAT,
}
MODEL_OF: dict[str, Any] = {
    ResourceType.MONITOR: Monitor,
    ResourceType.HEARTBEAT: Heartbeat,
    ResourceType.MONITOR_GROUP: MonitorGroup,
    ResourceType.HEARTBEAT_GROUP: HeartbeatGroup,
}


@dataclass(frozen=True)
class Member:
    """One monitor or heartbeat as the page needs it."""

    source_id: int
    created_at: datetime
    monitored: bool  # neither paused nor still pending its first check
    in_maintenance: bool


@dataclass(frozen=True)
class Sources:
    source_type: str
    members: tuple[Member, ...]

    @property
    def ids(self) -> list[int]:
        return [member.source_id for member in self.members]

    @property
    def existed_since(self) -> datetime | None:
        return min((member.created_at for member in self.members), default=None)


def is_team_source(team: Any, resource_type: str, resource_id: int) -> bool:
    """Whether ``resource_id`` is a monitor, heartbeat or group of ``team`` (the API's check)."""
    model = MODEL_OF.get(resource_type)
    return model is not None and model.objects.filter(pk=resource_id, team=team).exists()


def sources_of(resources: list[Any], *, team_id: int, now: datetime) -> dict[int, Sources]:
    """``{resource.pk: Sources}`` for resources of one team: one query per kind of source."""
    wanted: dict[str, set[int]] = {kind: set() for kind in ResourceType.values}
    for resource in resources:
        wanted[resource.resource_type].add(resource.resource_id)
    monitors = _members(Monitor, "monitor_group_id", team_id, wanted, ResourceType.MONITOR, now)
    heartbeats = _members(Heartbeat, "heartbeat_group_id", team_id, wanted, ResourceType.HEARTBEAT, now)
    found: dict[int, Sources] = {}
    for resource in resources:
        kind, key = resource.resource_type, resource.resource_id
        if kind == ResourceType.MONITOR:
            members = monitors["by_id"].get(key, [])
        elif kind == ResourceType.HEARTBEAT:
            members = heartbeats["by_id"].get(key, [])
        elif kind == ResourceType.MONITOR_GROUP:
            members = monitors["by_group"].get(key, [])
        else:
            members = heartbeats["by_group"].get(key, [])
        found[resource.pk] = Sources(SOURCE_TYPE_OF[kind], tuple(members))
    return found


def _members(model: Any, group_field: str, team_id: int, wanted: dict, single: str, now: datetime) -> dict:
    group_kind = ResourceType.MONITOR_GROUP if single == ResourceType.MONITOR else ResourceType.HEARTBEAT_GROUP
    ids, groups = wanted[single], wanted[group_kind]
    by_id: dict[int, list[Member]] = {}
    by_group: dict[int, list[Member]] = {}
    if not ids and not groups:
        return {"by_id": by_id, "by_group": by_group}
    rows = model.objects.filter(Q(pk__in=ids) | Q(**{f"{group_field}__in": groups}), team_id=team_id)
    for row in rows:
        member = Member(
            source_id=row.pk,
            created_at=row.created_at,
            monitored=row.paused_at is None and row.status not in ("paused", "pending"),
            in_maintenance=row.status == "maintenance" or is_in_maintenance(row, now=now),
        )
        if row.pk in ids:
            by_id.setdefault(row.pk, []).append(member)
        group_id = getattr(row, group_field)
        if group_id in groups:
            by_group.setdefault(group_id, []).append(member)
    return {"by_id": by_id, "by_group": by_group}
