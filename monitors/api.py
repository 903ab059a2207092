"""``/api/v2/monitors``: the monitor resource, its response times and its SLA (docs/api.md)."""

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.availability_api import availability_action
from alerts.incidents import resolve_open_incident
from alerts.models import IncidentSource
from alerts.source_groups import GroupViewSet, members_schema
from config.jsonapi.errors import BadRequest
from config.jsonapi.schema import document_resource, error_responses
from config.jsonapi.serializers import singleton_document
from config.jsonapi.timestamps import TimestampField, format_timestamp
from config.jsonapi.views import ResourceViewSet
from monitors.models import Monitor, MonitorGroup
from monitors.response_times import response_times
from monitors.serializers import MonitorGroupSerializer, MonitorRelationshipsSerializer, MonitorSerializer


class ResponseTimeSerializer(serializers.Serializer):
    at = TimestampField()
    response_time = serializers.FloatField()
    name_lookup_time = serializers.FloatField(allow_null=True)
    connection_time = serializers.FloatField(allow_null=True)
    tls_handshake_time = serializers.FloatField(allow_null=True)
    data_transfer_time = serializers.FloatField(allow_null=True)


class RegionResponseTimesSerializer(serializers.Serializer):
    region = serializers.CharField()
    response_times = ResponseTimeSerializer(many=True)


class ResponseTimesAttributesSerializer(serializers.Serializer):
    regions = RegionResponseTimesSerializer(many=True)


ResponseTimesDocument = singleton_document(
    "MonitorResponseTimes", "monitor_response_times", ResponseTimesAttributesSerializer
)


@document_resource(MonitorSerializer, "monitor", relationships_class=MonitorRelationshipsSerializer, tags=["Monitors"])
class MonitorViewSet(ResourceViewSet):
    """Monitors: targets Pharos checks from each of its regions every ``check_frequency`` seconds."""

    queryset = Monitor.objects.select_related("team").prefetch_related("request_headers").order_by("id")
    serializer_class = MonitorSerializer

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        for name in ("url", "pronounceable_name"):
            value = self.request.query_params.get(name)
            if value is not None:
                if "\x00" in value:
                    # PostgreSQL text cannot hold NUL; no monitor can match, so say so plainly.
                    raise BadRequest(f"{name} must not contain NUL characters")
                queryset = queryset.filter(**{name: value})
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("url", str, description="Only monitors with exactly this URL."),
            OpenApiParameter("pronounceable_name", str, description="Only monitors with exactly this name."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def before_delete(self, monitor: Monitor) -> None:
        # An open incident of a deleted monitor would go on escalating with nobody able to
        # find its source; it ends with the monitor.
        resolve_open_incident(
            source_type=IncidentSource.MONITOR,
            source_id=monitor.pk,
            by=f"{self.actor()} (monitor deleted)",
            now=timezone.now(),
        )

    @extend_schema(responses={200: ResponseTimesDocument, **error_responses(404)}, tags=["Monitors"])
    @action(detail=True, methods=["get"], url_path="response-times")
    def response_times(self, request: Request, pk: str | None = None) -> Response:
        monitor = self.get_object()
        regions = response_times(monitor, now=timezone.now())
        for region in regions:
            for point in region["response_times"]:
                point["at"] = format_timestamp(point["at"])
        return Response(
            {"data": {"id": str(monitor.pk), "type": "monitor_response_times", "attributes": {"regions": regions}}}
        )

    sla = availability_action("sla", source_type=IncidentSource.MONITOR)


@document_resource(MonitorGroupSerializer, "monitor_group", tags=["Monitor groups"])
class MonitorGroupViewSet(GroupViewSet):
    """Monitor groups: pausing one pauses the checks and alerts of its monitors."""

    queryset = MonitorGroup.objects.select_related("team")
    serializer_class = MonitorGroupSerializer

    @members_schema(MonitorViewSet.list_document_serializer, "Monitor groups")
    @action(detail=True, methods=["get"])
    def monitors(self, request: Request, pk: str | None = None) -> Response:
        group = self.get_object()
        monitors = MonitorViewSet.queryset.filter(team=self.team, monitor_group=group)
        return self.member_page(monitors, MonitorSerializer(context=self.get_serializer_context()))
