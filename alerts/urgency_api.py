"""``/api/v2/urgencies`` and ``/api/v2/policy-groups``: what escalation policies refer to.

An urgency names the channels a policy step pages people over (alerts.escalation). One
that a policy step still names cannot be deleted (409): the step would silently fall back
to the incident's flags, paging people in a way nobody chose.
"""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from alerts.alertable_serializer import PagingFlagsSerializer
from alerts.models import EscalationPolicy, PolicyGroup, Urgency
from config.jsonapi.errors import Conflict
from config.jsonapi.schema import document_resource, error_responses
from config.jsonapi.serializers import MAX_DB_INTEGER, AttributesSerializer
from config.jsonapi.timestamps import TimestampField
from config.jsonapi.views import ResourceViewSet


class UrgencySerializer(AttributesSerializer, PagingFlagsSerializer):
    """An urgency (Better Stack's severity): which channels its policy steps page over."""

    resource_type = "urgency"

    name = serializers.CharField(max_length=200)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def create(self, validated: dict[str, Any]) -> Urgency:
        urgency: Urgency = Urgency.objects.create(team=self.team, **validated)
        return urgency

    def update(self, urgency: Urgency, validated: dict[str, Any]) -> Urgency:
        for name, value in validated.items():
            setattr(urgency, name, value)
        urgency.save(update_fields=[*validated, "updated_at"])
        return urgency


class PolicyGroupSerializer(AttributesSerializer):
    """A group of escalation policies; policies join it with ``policy_group_id``."""

    resource_type = "policy_group"

    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    sort_index = serializers.IntegerField(
        min_value=-MAX_DB_INTEGER, max_value=MAX_DB_INTEGER, allow_null=True, required=False
    )
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def create(self, validated: dict[str, Any]) -> PolicyGroup:
        group: PolicyGroup = PolicyGroup.objects.create(team=self.team, **validated)
        return group

    def update(self, group: PolicyGroup, validated: dict[str, Any]) -> PolicyGroup:
        for name, value in validated.items():
            setattr(group, name, value)
        group.save(update_fields=[*validated, "updated_at"])
        return group


def policies_naming_urgency(urgency: Urgency) -> list[EscalationPolicy]:
    """The team's policies with a step that pages at this urgency."""
    wanted = str(urgency.pk)
    return [
        policy
        for policy in EscalationPolicy.objects.filter(team_id=urgency.team_id).only("pk", "name", "steps")
        if any(isinstance(step, dict) and str(step.get("urgency_id")) == wanted for step in policy.steps or [])
    ]


@extend_schema_view(
    destroy=extend_schema(responses={204: None, **error_responses(404, 409)}, tags=["Urgencies"]),
)
@document_resource(UrgencySerializer, "urgency", tags=["Urgencies"])
class UrgencyViewSet(ResourceViewSet):
    """Urgencies: named sets of channels that escalation policy steps page over."""

    queryset = Urgency.objects.select_related("team").order_by("id")
    serializer_class = UrgencySerializer

    def before_delete(self, urgency: Urgency) -> None:
        users = policies_naming_urgency(urgency)
        if users:
            names = ", ".join(repr(policy.name) for policy in users[:5])
            raise Conflict(f"Urgency is used by escalation policy {names}; change those steps first")


@document_resource(PolicyGroupSerializer, "policy_group", tags=["Escalation policies"])
class PolicyGroupViewSet(ResourceViewSet):
    """Policy groups: escalation policies organised together (deleting one ungroups them)."""

    queryset = PolicyGroup.objects.select_related("team")
    serializer_class = PolicyGroupSerializer
