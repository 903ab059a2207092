"""``/api/v3/incidents`` (also at ``/api/v2/incidents``) and ``/api/v3/policies`` (API.md).

Incident transitions go through alerts.incidents, the one door for them: acknowledging or
resolving a second time loses the conditional UPDATE there and answers 409 here.
"""

from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action

from alerts.incidents import Alerting, IncidentFacts, acknowledge_incident, open_incident, resolve_incident
from alerts.models import EscalationPolicy, Incident, IncidentSource
from alerts.serializers import (
    AcknowledgeSerializer,
    IncidentRelationshipsSerializer,
    IncidentSerializer,
    ManualIncidentSerializer,
    PolicySerializer,
    ResolveSerializer,
)
from config.jsonapi.errors import BadRequest, Conflict
from config.jsonapi.pagination import IncidentPagination
from config.jsonapi.ranges import parse_day
from config.jsonapi.schema import document_resource, error_responses
from config.jsonapi.serializers import envelope_serializers
from config.jsonapi.views import ResourceViewSet

_, IncidentDocument, IncidentListDocument = envelope_serializers(
    IncidentSerializer, "incident", IncidentRelationshipsSerializer
)
BOOLEAN_WORDS = {"true": True, "1": True, "false": False, "0": False}


def incident_filters(params):
    """Query filters of the incident list; a malformed value is a 400."""
    filters = {}
    first, last = parse_day(params, "from", None), parse_day(params, "to", None)
    if first and last and first > last:
        raise BadRequest("Invalid date range: from must not be after to")
    if first:
        filters["started_at__date__gte"] = first
    if last:
        filters["started_at__date__lte"] = last
    for name, source_type in (("monitor_id", IncidentSource.MONITOR), ("heartbeat_id", IncidentSource.HEARTBEAT)):
        raw = params.get(name)
        if raw is not None:
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
                raise BadRequest(f"{name} must be an id")
            filters.update(source_type=source_type, source_id=int(raw))
    if "monitor_id" in params and "heartbeat_id" in params:
        raise BadRequest("Filter by monitor_id or heartbeat_id, not both")
    for name, column in (("resolved", "resolved_at__isnull"), ("acknowledged", "acknowledged_at__isnull")):
        raw = params.get(name)
        if raw is not None:
            if raw.lower() not in BOOLEAN_WORDS:
                raise BadRequest(f"{name} must be true or false")
            filters[column] = not BOOLEAN_WORDS[raw.lower()]
    return filters


LIST_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="Incidents started on or after this day (UTC)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Incidents started on or before this day (UTC)."),
    OpenApiParameter("monitor_id", str, description="Only this monitor's incidents.", pattern="^[0-9]+$"),
    OpenApiParameter("heartbeat_id", str, description="Only this heartbeat's incidents.", pattern="^[0-9]+$"),
    OpenApiParameter("resolved", OpenApiTypes.BOOL, description="Only resolved (true) or open (false) incidents."),
    OpenApiParameter(
        "acknowledged", OpenApiTypes.BOOL, description="Only acknowledged (true) or unacknowledged (false)."
    ),
]


@extend_schema_view(
    list=extend_schema(parameters=LIST_PARAMETERS, responses={200: IncidentListDocument, **error_responses(400)}),
    retrieve=extend_schema(responses={200: IncidentDocument, **error_responses(404)}),
    create=extend_schema(
        request=ManualIncidentSerializer, responses={201: IncidentDocument, **error_responses(400, 422)}
    ),
    acknowledge=extend_schema(
        request=AcknowledgeSerializer, responses={200: IncidentDocument, **error_responses(400, 404, 409, 422)}
    ),
    resolve=extend_schema(
        request=ResolveSerializer, responses={200: IncidentDocument, **error_responses(400, 404, 409, 422)}
    ),
)
@extend_schema(tags=["Incidents"])
class IncidentViewSet(ResourceViewSet):
    """Incidents of monitors, heartbeats and people; acknowledge and resolve them here."""

    queryset = Incident.objects.select_related("team")
    serializer_class = IncidentSerializer
    pagination_class = IncidentPagination
    http_method_names = ["get", "post"]

    def filter_queryset(self, queryset):
        return queryset.filter(**incident_filters(self.request.query_params)).order_by("-started_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = ManualIncidentSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        facts = IncidentFacts(
            cause=attrs.get("summary") or attrs.get("name"),
            name=attrs.get("name") or attrs.get("summary"),
            summary=attrs.get("summary", ""),
            requester_email=attrs["requester_email"],
        )
        alerting = Alerting(
            call=attrs["call"],
            sms=attrs["sms"],
            email=attrs["email"],
            push=attrs["push"],
            critical_alert=attrs["critical_alert"],
            team_wait=attrs.get("team_wait"),
            policy_id=attrs.get("policy_id"),
        )
        with transaction.atomic():
            incident = open_incident(
                team_id=self.team.pk,
                source_type=IncidentSource.MANUAL,
                source_id=None,
                facts=facts,
                alerting=alerting,
                now=timezone.now(),
            )
        if incident is None:  # manual incidents have no source to collide on; kept for safety
            raise Conflict("An incident for this source is already open")
        return self.document(self.reload(incident), status_code=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        incident = self.get_object()
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        by = body.validated_data.get("acknowledged_by") or self.actor()
        if not acknowledge_incident(incident.pk, by=by, now=timezone.now()):
            incident.refresh_from_db()
            raise Conflict(
                "Incident is already resolved" if incident.resolved_at else "Incident is already acknowledged"
            )
        return self.document(self.reload(incident))

    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        incident = self.get_object()
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        by = body.validated_data.get("resolved_by") or self.actor()
        if not resolve_incident(incident.pk, by=by, now=timezone.now()):
            raise Conflict("Incident is already resolved")
        return self.document(self.reload(incident))


@document_resource(PolicySerializer, "policy", tags=["Escalation policies"])
class PolicyViewSet(ResourceViewSet):
    """Escalation policies: who is alerted, step by step, until someone acknowledges."""

    queryset = EscalationPolicy.objects.select_related("team").order_by("id")
    serializer_class = PolicySerializer
