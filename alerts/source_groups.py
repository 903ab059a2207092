"""Groups of incident sources — monitor groups and heartbeat groups — with one shape and one
pause rule, shared by monitors/ and heartbeats/.

Pausing a group pauses the checks and alerts of its members by writing each member's own
``paused_at``: the scheduler's claim, the heartbeat sweep and the ping path all key on
``paused_at`` (and the partial indexes ``monitor_due`` and ``heartbeat_overdue`` hold only
unpaused rows), so they honour a paused group with no join and no change to their queries.
A member remembers that its pause is its group's (``paused_with_group``), and the rule is:

1. a member is paused when it is paused on its own or its group is paused;
2. pausing a group pauses its active members; resuming it resumes exactly those, while a
   member paused on its own stays paused;
3. a member created in, or moved into, a paused group is paused with it; moved out (or
   into an active group), it resumes unless it was paused on its own;
4. ``paused: false`` on a member of a paused group lifts only its own pause: it stays paused
   with the group until the group resumes or it leaves the group;
5. deleting a group leaves its members ungrouped and paused as they were (a member paused
   with the group is then paused on its own): deleting never starts checks or pages anyone.

Races: a member's write locks its group row (``lock_group``) and a group's pause or resume
updates that row first, so the two take turns; the bulk UPDATE of the members then runs
after any member write that moved a member in or out has committed, and sees it.
"""

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from config.jsonapi.fields import NameField
from config.jsonapi.schema import error_responses
from config.jsonapi.serializers import MAX_DB_INTEGER, AttributesSerializer
from config.jsonapi.timestamps import TimestampField
from config.jsonapi.views import ResourceViewSet

if TYPE_CHECKING:
    from alerts.pausing import SourcePausing


class SourceGroup(models.Model):
    """A named, sortable, pausable set of monitors or of heartbeats of one team."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    sort_index = models.IntegerField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = [models.F("sort_index").asc(nulls_last=True), "id"]

    def __str__(self) -> str:
        return self.name or f"group #{self.pk}"

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


def lock_group(model: type[SourceGroup], team: Any, group_id: int | None) -> SourceGroup | None:
    """The team's group ``group_id``, row-locked until the caller's transaction ends.

    Raises ``serializers.ValidationError`` when the team has no such group.
    """
    if group_id is None:
        return None
    group = model.objects.select_for_update().filter(pk=group_id, team=team).first()
    if group is None:
        raise serializers.ValidationError(f"is not a {model._meta.verbose_name} of this team")
    return group


def member_pause(*, instance: Any, paused_requested: bool | None, group: SourceGroup | None) -> tuple[bool, bool]:
    """``(paused, paused_with_group)`` a member should have after a write (rules 1, 3, 4)."""
    if paused_requested is not None:
        own = paused_requested
    else:
        own = instance is not None and instance.paused_at is not None and not instance.paused_with_group
    held = group is not None and group.paused
    return own or held, held and not own


class GroupMembers:
    """How one kind of member is paused and resumed in bulk by its group (rule 2), with the
    fields and after-effects its own pause has (alerts.pausing)."""

    def __init__(self, pausing: "SourcePausing"):
        self.pausing = pausing

    def queryset(self, group: SourceGroup) -> QuerySet:
        return self.pausing.rows().filter(team_id=group.team_id, **{self.pausing.group_field: group})

    def pause(self, group: SourceGroup, *, now: datetime) -> int:
        ids = list(self.queryset(group).filter(paused_at__isnull=True).values_list("pk", flat=True))
        count = (
            self.queryset(group)
            .filter(pk__in=ids, paused_at__isnull=True)
            .update(paused_with_group=True, updated_at=now, **self.pausing.paused_fields(now))
        )
        if self.pausing.after_pause is not None and ids:
            self.pausing.after_pause(ids, now)
        return count

    def resume(self, group: SourceGroup, *, now: datetime) -> int:
        # No schedule here: a group of hundreds resumed at once is phased by the next
        # tick, as new sources are, rather than in this request.
        return (
            self.queryset(group)
            .filter(paused_with_group=True)
            .update(paused_with_group=False, paused_at=None, updated_at=now, **self.pausing.resumed_fields(now))
        )

    def release(self, group: SourceGroup) -> int:
        """Before the group is deleted: its pause becomes each member's own (rule 5)."""
        return self.queryset(group).filter(paused_with_group=True).update(paused_with_group=False)


def set_group_paused(group: SourceGroup, members: GroupMembers, paused: bool, *, now: datetime) -> bool:
    """Pause or resume ``group`` (locked by the caller) and its members; False if already so."""
    if paused == group.paused:
        return False
    group.paused_at = now if paused else None
    group.save(update_fields=["paused_at", "updated_at"])
    if paused:
        members.pause(group, now=now)
    else:
        members.resume(group, now=now)
    return True


class GroupSerializer(AttributesSerializer):
    """A monitor or heartbeat group's attributes (Better Stack's monitor-groups shape)."""

    group_model: type[SourceGroup]
    members: GroupMembers

    name = NameField(max_length=200, allow_blank=True, required=False)
    sort_index = serializers.IntegerField(
        min_value=-MAX_DB_INTEGER, max_value=MAX_DB_INTEGER, allow_null=True, required=False
    )
    paused = serializers.BooleanField(required=False)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def create(self, validated: dict) -> SourceGroup:
        paused = validated.pop("paused", False)
        return self.group_model.objects.create(
            team=self.team, paused_at=timezone.now() if paused else None, **validated
        )

    def update(self, group: SourceGroup, validated: dict) -> SourceGroup:
        paused = validated.pop("paused", None)
        for name, value in validated.items():
            setattr(group, name, value)
        group.save(update_fields=[*validated, "updated_at"])
        if paused is not None:
            set_group_paused(group, self.members, paused, now=timezone.now())
        return group


class GroupViewSet(ResourceViewSet):
    """list/create/retrieve/partial_update/destroy of groups; subclasses add ``/{id}/<members>``."""

    serializer_class: type[GroupSerializer]

    def before_delete(self, group: SourceGroup) -> None:
        # Locked like a pause: a member joining meanwhile waits, then finds no group.
        type(group).objects.select_for_update().filter(pk=group.pk).first()
        self.serializer_class.members.release(group)

    def member_page(self, queryset: QuerySet, serializer: AttributesSerializer) -> Any:
        """One page of a group's members, in the members' own envelope."""
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([serializer.as_resource(member) for member in page or []])


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("per_page", int, description="Items per page (default 50, at most 250)."),
]


def members_schema(list_document: Any, tag: str) -> Callable:
    return extend_schema(
        parameters=PAGE_PARAMETERS, responses={200: list_document, **error_responses(400, 404)}, tags=[tag]
    )
