"""``/api/v3/incidents`` (also at ``/api/v2/incidents``) and ``/api/v3/policies`` (docs/api.md).

Incident transitions go through alerts.incidents, the one door for them: acknowledging or
resolving a second time loses the conditional UPDATE there and answers 409 here.
"""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.incident_tokens import HasTeamOrIncidentToken, IncidentTokenGrant, TeamOrIncidentTokenAuthentication
from alerts.incidents import (
    Alerting,
    IncidentFacts,
    acknowledge_incident,
    comment_on_incident,
    delete_incident,
    open_incident,
    resolve_incident,
)
from alerts.models import EscalationPolicy, Incident, IncidentEvent, IncidentSource
from alerts.serializers import (
    AcknowledgeSerializer,
    IncidentCommentSerializer,
    IncidentRelationshipsSerializer,
    IncidentSerializer,
    ManualIncidentSerializer,
    PolicySerializer,
    ResolveSerializer,
)
from config.jsonapi.errors import BadRequest, Conflict
from config.jsonapi.pagination import IncidentPagination, Pagination
from config.jsonapi.ranges import parse_day
from config.jsonapi.schema import document_resource, error_responses
from config.jsonapi.serializers import envelope_serializers
from config.jsonapi.views import ResourceViewSet

_, IncidentDocument, IncidentListDocument = envelope_serializers(
    IncidentSerializer, "incident", IncidentRelationshipsSerializer
)
_, CommentDocument, CommentListDocument = envelope_serializers(IncidentCommentSerializer, "incident_comment")
BOOLEAN_WORDS = {"true": True, "1": True, "false": False, "0": False}


def incident_filters(params: Mapping[str, str]) -> dict[str, Any]:
    """Query filters of the incident list; a malformed value is a 400."""
    filters: dict[str, Any] = {}
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
    destroy=extend_schema(responses={204: None, **error_responses(404)}),
)
@extend_schema(tags=["Incidents"])
class IncidentViewSet(ResourceViewSet):
    """Incidents of monitors, heartbeats and people; acknowledge, resolve, comment and delete them here.

    ``POST`` also accepts a policy's ``incident_token`` as the bearer token (alerts.incident_tokens).
    """

    queryset = Incident.objects.not_deleted().select_related("team")
    serializer_class = IncidentSerializer
    pagination_class = IncidentPagination
    http_method_names = ["get", "post", "delete"]
    authentication_classes = [TeamOrIncidentTokenAuthentication]

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [HasTeamOrIncidentToken()]
        return super().get_permissions()

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**incident_filters(self.request.query_params)).order_by("-started_at", "-id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ManualIncidentSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        attrs = dict(serializer.validated_data)
        if isinstance(request.auth, IncidentTokenGrant):
            # The token is the policy's: the incident escalates by that policy and no other.
            policy_id = request.auth.policy.pk
            if attrs.get("policy_id") not in (None, policy_id):
                raise ValidationError({"policy_id": ["must be the incident token's own policy or left out"]})
            attrs["policy_id"] = policy_id
        facts = IncidentFacts(
            # One of the two is set (ManualIncidentSerializer.validate).
            cause=attrs.get("summary") or attrs.get("name") or "",
            name=attrs.get("name") or attrs.get("summary") or "",
            summary=attrs.get("summary", ""),
            requester_email=attrs["requester_email"],
        )
        alerting = Alerting.from_attributes(attrs)
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
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
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
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        by = body.validated_data.get("resolved_by") or self.actor()
        if not resolve_incident(incident.pk, by=by, now=timezone.now()):
            raise Conflict("Incident is already resolved")
        return self.document(self.reload(incident))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        if not delete_incident(incident.pk, by=self.actor(), now=timezone.now()):
            raise Http404  # deleted by someone else meanwhile
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("page", int, description="Page number, from 1."),
            OpenApiParameter("per_page", int, description="Items per page (default 50, at most 250)."),
        ],
        responses={200: CommentListDocument, **error_responses(400, 404)},
    )
    @extend_schema(
        methods=["POST"],
        request=IncidentCommentSerializer,
        responses={201: CommentDocument, **error_responses(400, 404, 422)},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=Pagination)
    def comments(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        context = self.get_serializer_context()
        if request.method == "POST":
            body = IncidentCommentSerializer(data=request.data, context=context)
            body.is_valid(raise_exception=True)
            comment = comment_on_incident(
                incident.pk, content=body.validated_data["message"], by=self.actor(), now=timezone.now()
            )
            return Response(
                {"data": IncidentCommentSerializer(context=context).as_resource(comment)},
                status=status.HTTP_201_CREATED,
            )
        comments = IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.COMMENT).select_related(
            "user"
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(comments.order_by("at", "id"), request, view=self)
        serializer = IncidentCommentSerializer(context=context)
        return paginator.get_paginated_response([serializer.as_resource(comment) for comment in page])


@document_resource(PolicySerializer, "policy", tags=["Escalation policies"])
class PolicyViewSet(ResourceViewSet):
    """Escalation policies: who is alerted, step by step, until someone acknowledges."""

    queryset = EscalationPolicy.objects.select_related("team").order_by("id")
    serializer_class = PolicySerializer
