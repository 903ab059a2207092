"""The API side of alerts.alertable: one declaration of the alerting, maintenance and pause
attributes, their validation and where they stand among a resource's attributes.

``AlertingSerializer`` is who to wake (a manual incident takes it too);
``AlertableSerializer`` adds Better Stack's weekly maintenance window and ``paused``, for
the monitor and the heartbeat resources. What a pause does is alerts.pausing's.
"""

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from alerts.alertable import ALERTING_FIELDS, PAGING_FLAGS, AlertingSettings
from alerts.models import EscalationPolicy
from alerts.pausing import SourcePausing, save_edit
from alerts.source_groups import SourceGroup, lock_group
from config.jsonapi.fields import DAY_NAMES, TimeZoneField
from config.jsonapi.serializers import MAX_DB_INTEGER, AttributesSerializer, IdField, relationship
from config.jsonapi.timestamps import TimestampField
from teams.limits import LimitReached, claim_room_for


def validate_team_policy(team: Any, policy_id: int | None) -> int | None:
    if policy_id is not None and not EscalationPolicy.objects.filter(pk=policy_id, team=team).exists():
        raise serializers.ValidationError("is not an escalation policy of this team")
    return policy_id


class PagingFlagsSerializer(serializers.Serializer):
    """``call``, ``sms``, ``email``, ``push``, ``critical_alert`` (alerts.alertable.PagingFlags);
    left out on create, each takes the model's default."""

    call = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)
    critical_alert = serializers.BooleanField(required=False)


class AlertingSerializer(AttributesSerializer, PagingFlagsSerializer):
    """``call`` … ``policy_id``; left out on create, each takes the model's default."""

    # Declared on a base class these would lead the attributes; docs/api.md lists them just
    # before this one (None: last).
    alerting_before: str | None = None
    # Say the model's defaults in the request (and the OpenAPI file): for a resource that
    # is only ever created, such as a manual incident.
    alerting_defaults = False
    # Shown, never written: an incident's copy of its source's settings.
    alerting_read_only = False

    team_wait = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, allow_null=True, required=False)
    policy_id = IdField(allow_null=True, required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        alerting = {name: fields.pop(name) for name in ALERTING_ATTRIBUTES}
        if self.alerting_defaults:
            for name in PAGING_FLAGS:
                alerting[name].default = AlertingSettings._meta.get_field(name).default
        if self.alerting_read_only:
            alerting = {
                name: type(field)(read_only=True, allow_null=field.allow_null) for name, field in alerting.items()
            }
        return _placed(fields, alerting, before=self.alerting_before)

    def validate_policy_id(self, policy_id: int | None) -> int | None:
        return validate_team_policy(self.team, policy_id)

    def policy_relationship(self, source: Any) -> dict[str, Any]:
        return {"policy": relationship("policy", source.policy_id)}


ALERTING_ATTRIBUTES = ALERTING_FIELDS


def _placed(fields: dict[str, Any], placed: dict[str, Any], *, before: str | None) -> dict[str, Any]:
    """``fields`` with ``placed`` inserted just before the field ``before`` (or at the end)."""
    if before not in fields:
        return {**fields, **placed}
    ordered = {}
    for name, field in fields.items():
        if name == before:
            ordered.update(placed)
        ordered[name] = field
    return ordered


class AlertableSerializer(AlertingSerializer):
    # The alerting attributes, the maintenance window and the pause of a monitor or
    # heartbeat. docs/api.md lists the alerting ones just before the resource's group
    # (``alerting_before``), and the window, ``paused`` and ``paused_at`` just before
    # ``status``. (A comment, not a docstring: drf-spectacular would publish a docstring.)
    # ``pausing`` names the resource's model, its group model and its group field; a
    # subclass validates its group attribute with ``validate_group_id``.

    pausing: SourcePausing

    maintenance_days = serializers.ListField(
        child=serializers.ChoiceField(choices=DAY_NAMES), required=False, max_length=7
    )
    maintenance_from = serializers.TimeField(allow_null=True, required=False, format="%H:%M:%S")
    maintenance_to = serializers.TimeField(allow_null=True, required=False, format="%H:%M:%S")
    maintenance_timezone = TimeZoneField(max_length=64, required=False)
    paused = serializers.BooleanField(write_only=True, required=False)
    paused_at = TimestampField(read_only=True, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        quiet = {name: fields.pop(name) for name in _QUIET_ATTRIBUTES}
        return _placed(fields, quiet, before="status")

    def validate_maintenance_days(self, days: list[str]) -> list[str]:
        return list(dict.fromkeys(days))

    def validate_group_id(self, group_id: int | None) -> int | None:
        # Locked until the write commits, so a pause of the group cannot slip in between.
        self._group = lock_group(self.pausing.group_model, self.team, group_id)
        return group_id

    def group_after_write(self, validated: dict[str, Any]) -> SourceGroup | None:
        """The group the source will be in, locked (see alerts.source_groups)."""
        attribute = f"{self.pausing.group_field}_id"
        if attribute in validated:
            group: SourceGroup | None = getattr(self, "_group", None)
            return group
        current = getattr(self.instance, attribute) if self.instance is not None else None
        return lock_group(self.pausing.group_model, self.team, current)

    def save_edit(self, source: Any, validated: dict[str, Any]) -> None:
        """A PATCH: the attributes sent, then the pause and the deadline that follow
        (alerts.pausing.save_edit)."""
        paused = validated.pop("paused", None)
        schedule_changed = self.pausing.schedule_changes(source, validated)
        moves = f"{self.pausing.group_field}_id" in validated
        # The group is locked before the source's row is written, as alerts.pausing orders them.
        group = self.group_after_write(validated) if paused is not None or moves else None
        for name, value in validated.items():
            setattr(source, name, value)
        save_edit(
            self.pausing,
            source,
            list(validated),
            paused=paused,
            schedule_changed=schedule_changed,
            group=group,
            now=timezone.now(),
        )

    def claim_team_room(self) -> None:
        """On create, a 422 when the team already has as many as it may (teams.limits);
        otherwise the team's row stays locked until the create commits."""
        if self.instance is not None:
            return
        try:
            claim_room_for(self.team, self.pausing.model)
        except LimitReached as error:
            raise serializers.ValidationError({"base": [str(error)]}) from None

    def maintenance_errors(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        """Errors of the window as it will be after this write (``current`` is the resource's)."""
        has_from = self.current(attrs, "maintenance_from", None) is not None
        has_to = self.current(attrs, "maintenance_to", None) is not None
        if has_from == has_to:
            return {}
        return {
            "maintenance_to" if has_from else "maintenance_from": [
                "is required when the other end of the window is set"
            ]
        }


_QUIET_ATTRIBUTES = tuple(name for name in AlertableSerializer._declared_fields if name not in ALERTING_ATTRIBUTES)
