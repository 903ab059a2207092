"""The ``heartbeat`` resource of docs/api.md; ``url`` is the ping URL the job calls. A team at
``PHAROS_TEAM_MAX_HEARTBEATS`` gets a 422 on create (teams.limits)."""

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from alerts.alertable_serializer import AlertableSerializer
from alerts.source_groups import GroupMembers, GroupSerializer, member_pause
from config.jsonapi.fields import NameField, TimeZoneField
from config.jsonapi.serializers import MAX_DB_INTEGER, IdField, RelationshipSerializer
from config.jsonapi.timestamps import TimestampField
from heartbeats.maintenance import shown_status
from heartbeats.models import Heartbeat, HeartbeatGroup, HeartbeatStatus
from heartbeats.pausing import HEARTBEAT_PAUSING
from heartbeats.schedule import InvalidSchedule, validate_cron


class HeartbeatSerializer(AlertableSerializer):
    """A heartbeat's attributes (docs/api.md, Heartbeats); ``url`` is the ping URL."""

    # The alerting, maintenance and pause attributes are alerts.alertable_serializer's.

    resource_type = "heartbeat"
    pausing = HEARTBEAT_PAUSING
    alerting_before = "heartbeat_group_id"

    name = NameField(max_length=200)
    url = serializers.URLField(source="ping_url", read_only=True)
    period = serializers.IntegerField(min_value=1, max_value=MAX_DB_INTEGER, required=False)
    grace = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    cron = serializers.CharField(max_length=100, allow_blank=True, required=False)
    timezone = TimeZoneField(max_length=64, required=False)
    heartbeat_group_id = IdField(allow_null=True, required=False)
    sort_index = serializers.IntegerField(
        min_value=-MAX_DB_INTEGER, max_value=MAX_DB_INTEGER, allow_null=True, required=False
    )
    status = serializers.ChoiceField(choices=HeartbeatStatus.values, read_only=True)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def validate_period(self, value):
        floor = settings.PHAROS_MIN_CHECK_FREQUENCY
        if value < floor:
            raise serializers.ValidationError(f"must be at least {floor} seconds")
        return value

    def validate_cron(self, expression):
        if not expression.strip():
            return ""
        try:
            return validate_cron(expression)
        except InvalidSchedule as error:
            raise serializers.ValidationError(str(error)) from None

    validate_heartbeat_group_id = AlertableSerializer.validate_group_id

    def validate(self, attrs):
        self.claim_team_room()
        errors = self.maintenance_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated):
        paused, with_group = member_pause(
            instance=None, paused_requested=validated.pop("paused", False), group=self.group_after_write(validated)
        )
        heartbeat = Heartbeat(team=self.team, paused_with_group=with_group, **validated)
        for name, value in (HEARTBEAT_PAUSING.paused_fields(timezone.now()) if paused else {}).items():
            setattr(heartbeat, name, value)
        heartbeat.save()
        return heartbeat

    def update(self, heartbeat, validated):
        # The view holds the heartbeat's row lock meanwhile (pings wait for it).
        self.save_edit(heartbeat, validated)
        return heartbeat

    def to_representation(self, heartbeat):
        data = super().to_representation(heartbeat)
        # The stored status stays up/down through a maintenance window (the sweep's index
        # relies on it); what a user is shown says maintenance, as docs/api.md lists.
        data["status"] = shown_status(heartbeat, now=timezone.now())
        return data

    def relationships(self, heartbeat):
        return self.policy_relationship(heartbeat)


class HeartbeatRelationshipsSerializer(serializers.Serializer):
    policy = RelationshipSerializer()


HEARTBEAT_GROUP_MEMBERS = GroupMembers(HEARTBEAT_PAUSING)


class HeartbeatGroupSerializer(GroupSerializer):
    """A heartbeat group (``/api/v2/heartbeat-groups``)."""

    resource_type = "heartbeat_group"
    group_model = HeartbeatGroup
    members = HEARTBEAT_GROUP_MEMBERS
