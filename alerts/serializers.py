"""API resources of the alerts app: ``incident``, ``policy``, and the availability figures.

Incidents are read-only through their attributes: they change only through
alerts.incidents (acknowledge, resolve, open a manual one), which the views call.
"""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from alerts.escalation import validate_policy_steps
from alerts.models import Channel, EscalationPolicy, IncidentSource, IncidentStatus
from config.jsonapi.serializers import (
    MAX_DB_INTEGER,
    AttributesSerializer,
    IdField,
    RelationshipSerializer,
    StrictSerializer,
    relationship,
)
from config.jsonapi.timestamps import TimestampField


class AvailabilitySerializer(serializers.Serializer):
    availability = serializers.FloatField(help_text="Percent of the range the source was up.")
    total_downtime = serializers.IntegerField(help_text="Seconds.")
    number_of_incidents = serializers.IntegerField()
    longest_incident = serializers.IntegerField(help_text="Seconds.")
    average_incident = serializers.IntegerField(help_text="Seconds.")


class BlankAsNullCharField(serializers.CharField):
    def to_representation(self, value):
        return value or None


class IncidentSerializer(AttributesSerializer):
    """An incident's attributes (API.md, Incidents)."""

    resource_type = "incident"

    name = serializers.CharField(read_only=True)
    summary = serializers.CharField(read_only=True)
    url = BlankAsNullCharField(read_only=True, allow_null=True)
    http_method = serializers.SerializerMethodField()
    cause = serializers.CharField(read_only=True)
    started_at = TimestampField(read_only=True)
    acknowledged_at = TimestampField(read_only=True, allow_null=True)
    acknowledged_by = BlankAsNullCharField(read_only=True, allow_null=True)
    resolved_at = TimestampField(read_only=True, allow_null=True)
    resolved_by = BlankAsNullCharField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=IncidentStatus.values, read_only=True)
    regions = serializers.ListField(child=serializers.CharField(), read_only=True)
    response_content = BlankAsNullCharField(read_only=True, allow_null=True)
    response_options = serializers.DictField(read_only=True)
    ssl_certificate_expires_at = TimestampField(read_only=True, allow_null=True)
    requester_email = BlankAsNullCharField(read_only=True, allow_null=True)
    call = serializers.BooleanField(read_only=True)
    sms = serializers.BooleanField(read_only=True)
    email = serializers.BooleanField(read_only=True)
    push = serializers.BooleanField(read_only=True)
    critical_alert = serializers.BooleanField(read_only=True)
    team_wait = serializers.IntegerField(read_only=True, allow_null=True)
    policy_id = IdField(read_only=True, allow_null=True)
    metadata = serializers.DictField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def get_http_method(self, incident) -> str | None:
        return incident.http_method.lower() or None

    def relationships(self, incident):
        if incident.source_type in (IncidentSource.MONITOR, IncidentSource.HEARTBEAT):
            return {incident.source_type: relationship(incident.source_type, incident.source_id)}
        return {}


class IncidentRelationshipsSerializer(serializers.Serializer):
    monitor = RelationshipSerializer(required=False)
    heartbeat = RelationshipSerializer(required=False)


class ManualIncidentSerializer(AttributesSerializer):
    """POST /api/v3/incidents: a person reports an outage (Better Stack's manual incident)."""

    name = serializers.CharField(max_length=300, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    requester_email = serializers.EmailField(max_length=254)
    call = serializers.BooleanField(required=False, default=False)
    sms = serializers.BooleanField(required=False, default=False)
    email = serializers.BooleanField(required=False, default=True)
    push = serializers.BooleanField(required=False, default=False)
    critical_alert = serializers.BooleanField(required=False, default=False)
    team_wait = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, allow_null=True, required=False)
    policy_id = IdField(allow_null=True, required=False)

    def validate_policy_id(self, policy_id):
        return validate_team_policy(self.team, policy_id)

    def validate(self, attrs):
        if not (attrs.get("name") or attrs.get("summary")):
            raise serializers.ValidationError({"summary": ["can't be blank when name is blank"]})
        return attrs


class AcknowledgeSerializer(AttributesSerializer):
    acknowledged_by = serializers.CharField(max_length=254, required=False, allow_blank=True)


class ResolveSerializer(AttributesSerializer):
    resolved_by = serializers.CharField(max_length=254, required=False, allow_blank=True)


def validate_team_policy(team, policy_id):
    if policy_id is not None and not EscalationPolicy.objects.filter(pk=policy_id, team=team).exists():
        raise serializers.ValidationError("is not an escalation policy of this team")
    return policy_id


# --- policies ------------------------------------------------------------------------------


class StepMemberSerializer(StrictSerializer):
    type = serializers.CharField(max_length=64)
    id = IdField(required=False, allow_null=True)


class StepSerializer(StrictSerializer):
    type = serializers.CharField(max_length=32, required=False, default="escalation")
    wait_before = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False, default=0)
    step_members = StepMemberSerializer(many=True, max_length=100)


class PolicySerializer(AttributesSerializer):
    """An escalation policy (API.md, Escalation policies)."""

    resource_type = "policy"

    name = serializers.CharField(max_length=200)
    repeat_count = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    repeat_delay = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    steps = StepSerializer(many=True, max_length=100)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def validate_steps(self, steps):
        # A PATCH replaces the steps whole, but DRF validates nested fields of a partial
        # update partially too: it skips their defaults and required checks. Apply both here.
        missing = [
            f"step {n}: step_members is required" for n, step in enumerate(steps, 1) if "step_members" not in step
        ]
        missing += [
            f"step {n}: every member needs a type"
            for n, step in enumerate(steps, 1)
            if any("type" not in member for member in step.get("step_members", ()))
        ]
        if missing:
            raise serializers.ValidationError(missing)
        steps = [
            {
                "type": step.get("type", "escalation"),
                "wait_before": step.get("wait_before", 0),
                "step_members": [
                    {"type": member["type"], **({"id": member["id"]} if member.get("id") is not None else {})}
                    for member in step["step_members"]
                ],
            }
            for step in steps
        ]
        errors = validate_policy_steps(steps)
        errors.extend(self._foreign_members(steps))
        if errors:
            raise serializers.ValidationError(errors)
        return steps

    def _foreign_members(self, steps):
        """Members that name someone or something outside this team."""
        user_ids = {m["id"] for s in steps for m in s["step_members"] if m["type"] == "user" and "id" in m}
        channel_ids = {m["id"] for s in steps for m in s["step_members"] if m["type"] != "user" and "id" in m}
        own_users = set(
            get_user_model().objects.filter(pk__in=user_ids, memberships__team=self.team).values_list("pk", flat=True)
        )
        own_channels = set(Channel.objects.filter(pk__in=channel_ids, team=self.team).values_list("pk", flat=True))
        errors = [f"user {pk} is not a member of this team" for pk in sorted(user_ids - own_users)]
        errors += [f"channel {pk} is not a channel of this team" for pk in sorted(channel_ids - own_channels)]
        return errors

    def validate(self, attrs):
        steps = self.current(attrs, "steps", [])
        repeat_count = self.current(attrs, "repeat_count", 0)
        errors = [e for e in validate_policy_steps(steps, repeat_count) if "repeat_count" in e]
        if errors:
            raise serializers.ValidationError({"repeat_count": errors})
        return attrs

    def create(self, validated):
        return EscalationPolicy.objects.create(team=self.team, **validated)

    def update(self, policy, validated):
        for name, value in validated.items():
            setattr(policy, name, value)
        policy.save(update_fields=[*validated, "updated_at"])
        return policy
