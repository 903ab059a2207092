"""API resources of the alerts app: ``incident``, ``policy``, and the availability figures.

Incidents are read-only through their attributes: they change only through
alerts.incidents (acknowledge, resolve, open a manual one), which the views call.
"""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from alerts.alertable_serializer import AlertingSerializer
from alerts.escalation import validate_policy_steps
from alerts.models import (
    Channel,
    EscalationPolicy,
    Incident,
    IncidentEvent,
    IncidentSource,
    IncidentStatus,
    PolicyGroup,
    Urgency,
)
from config.jsonapi.fields import NameField
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
    def to_representation(self, value: str | None) -> str | None:
        return value or None


class IncidentSerializer(AlertingSerializer):
    """An incident's attributes (docs/api.md, Incidents)."""

    resource_type = "incident"
    # The alerting attributes: who this incident pages, copied from its source when it opened.
    alerting_before = "metadata"
    alerting_read_only = True

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
    metadata = serializers.DictField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def get_http_method(self, incident: Incident) -> str | None:
        return incident.http_method.lower() or None

    def relationships(self, incident: Incident) -> dict[str, Any]:
        if incident.source_type in (IncidentSource.MONITOR, IncidentSource.HEARTBEAT):
            return {incident.source_type: relationship(incident.source_type, incident.source_id)}
        return {}


class IncidentRelationshipsSerializer(serializers.Serializer):
    monitor = RelationshipSerializer(required=False)
    heartbeat = RelationshipSerializer(required=False)


class ManualIncidentSerializer(AlertingSerializer):
    """POST /api/v3/incidents: a person reports an outage (Better Stack's manual incident)."""

    alerting_defaults = True

    name = NameField(max_length=300, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    requester_email = serializers.EmailField(max_length=254)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("name") or attrs.get("summary")):
            raise serializers.ValidationError({"summary": ["can't be blank when name is blank"]})
        return attrs


class AcknowledgeSerializer(AttributesSerializer):
    acknowledged_by = serializers.CharField(max_length=254, required=False, allow_blank=True)


class ResolveSerializer(AttributesSerializer):
    resolved_by = serializers.CharField(max_length=254, required=False, allow_blank=True)


# --- policies ------------------------------------------------------------------------------


class StepMemberSerializer(StrictSerializer):
    type = serializers.CharField(max_length=64)
    id = IdField(required=False, allow_null=True)


class StepSerializer(StrictSerializer):
    type = serializers.CharField(max_length=32, required=False, default="escalation")
    wait_before = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False, default=0)
    urgency_id = IdField(required=False, allow_null=True)
    step_members = StepMemberSerializer(many=True, max_length=100)


class PolicySerializer(AttributesSerializer):
    """An escalation policy (docs/api.md, Escalation policies).

    Steps read back as they were sent: a member or step keeps exactly the keys it was
    given (ids as strings of digits), with only a step's ``type`` and ``wait_before``
    defaults filled in.
    """

    resource_type = "policy"

    name = NameField(max_length=200)
    repeat_count = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    repeat_delay = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    incident_token = serializers.CharField(read_only=True)
    policy_group_id = IdField(allow_null=True, required=False)
    steps = StepSerializer(many=True, max_length=100)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def validate_steps(self, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
                **({"urgency_id": _id_string(step["urgency_id"])} if "urgency_id" in step else {}),
                "step_members": [
                    {"type": member["type"], **({"id": _id_string(member["id"])} if "id" in member else {})}
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

    def _foreign_members(self, steps: list[dict[str, Any]]) -> list[str]:
        """Members, calendars and urgencies that name something outside this team."""
        from teams.models import OnCallCalendar

        def ids(*types: str, negate: bool = False) -> set[int]:
            return {
                int(m["id"])
                for s in steps
                for m in s["step_members"]
                if (m["type"] in types) != negate and m.get("id") is not None
            }

        user_ids = ids("user")
        calendar_ids = ids("current_on_call")
        channel_ids = ids("user", "current_on_call", negate=True)
        urgency_ids = {int(s["urgency_id"]) for s in steps if s.get("urgency_id") is not None}
        own_users = set(
            get_user_model().objects.filter(pk__in=user_ids, memberships__team=self.team).values_list("pk", flat=True)
        )
        own_channels = set(Channel.objects.filter(pk__in=channel_ids, team=self.team).values_list("pk", flat=True))
        own_calendars = set(
            OnCallCalendar.objects.filter(pk__in=calendar_ids, team=self.team).values_list("pk", flat=True)
        )
        own_urgencies = set(Urgency.objects.filter(pk__in=urgency_ids, team=self.team).values_list("pk", flat=True))
        errors = [f"user {pk} is not a member of this team" for pk in sorted(user_ids - own_users)]
        errors += [f"channel {pk} is not a channel of this team" for pk in sorted(channel_ids - own_channels)]
        errors += [
            f"on-call calendar {pk} is not a calendar of this team" for pk in sorted(calendar_ids - own_calendars)
        ]
        errors += [f"urgency {pk} is not an urgency of this team" for pk in sorted(urgency_ids - own_urgencies)]
        return errors

    def validate_policy_group_id(self, group_id: int | None) -> int | None:
        if group_id is not None and not PolicyGroup.objects.filter(pk=group_id, team=self.team).exists():
            raise serializers.ValidationError("is not a policy group of this team")
        return group_id

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        steps = self.current(attrs, "steps", [])
        repeat_count = self.current(attrs, "repeat_count", 0)
        errors = [e for e in validate_policy_steps(steps, repeat_count) if "repeat_count" in e]
        if errors:
            raise serializers.ValidationError({"repeat_count": errors})
        return attrs

    def create(self, validated: dict[str, Any]) -> EscalationPolicy:
        policy: EscalationPolicy = EscalationPolicy.objects.create(team=self.team, **validated)
        return policy

    def update(self, policy: EscalationPolicy, validated: dict[str, Any]) -> EscalationPolicy:
        for name, value in validated.items():
            setattr(policy, name, value)
        policy.save(update_fields=[*validated, "updated_at"])
        return policy

    def to_representation(self, policy: EscalationPolicy) -> dict[str, Any]:
        data = super().to_representation(policy)
        data["policy_group_id"] = None if policy.policy_group_id is None else str(policy.policy_group_id)
        # As stored, which is as sent: the nested serializers would add "id": null and
        # "urgency_id": null to members and steps that never had them.
        data["steps"] = [step for step in policy.steps or [] if isinstance(step, dict)]
        return data


def _id_string(value: object) -> str | None:
    return None if value is None else str(value)


class IncidentCommentSerializer(AttributesSerializer):
    """A comment on an incident's timeline (``/api/v3/incidents/{id}/comments``)."""

    resource_type = "incident_comment"

    content = serializers.CharField(max_length=10_000, source="message")
    user_id = IdField(read_only=True, allow_null=True)
    user_email = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="actor", read_only=True)
    created_at = TimestampField(source="at", read_only=True)

    def get_user_email(self, comment: IncidentEvent) -> str | None:
        return comment.user.email if comment.user_id is not None and comment.user.email else None

    def validate_content(self, content: str) -> str:
        if "\x00" in content:
            raise serializers.ValidationError("must not contain NUL characters")
        return content
