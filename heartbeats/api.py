"""``/api/v2/heartbeats``: the heartbeat resource and its availability (docs/api.md)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from alerts.availability import availability_of
from alerts.incidents import resolve_open_incident
from alerts.models import IncidentSource
from alerts.serializers import AvailabilitySerializer
from alerts.source_groups import GroupViewSet, members_schema
from config.jsonapi.ranges import day_range, range_parameters
from config.jsonapi.schema import document_resource, error_responses
from config.jsonapi.serializers import singleton_document
from config.jsonapi.views import ResourceViewSet
from heartbeats.models import Heartbeat, HeartbeatGroup
from heartbeats.serializers import HeartbeatGroupSerializer, HeartbeatRelationshipsSerializer, HeartbeatSerializer

HeartbeatAvailabilityDocument = singleton_document(
    "HeartbeatAvailability", "heartbeat_availability", AvailabilitySerializer
)


@document_resource(
    HeartbeatSerializer, "heartbeat", relationships_class=HeartbeatRelationshipsSerializer, tags=["Heartbeats"]
)
class HeartbeatViewSet(ResourceViewSet):
    """Heartbeats: jobs that ping their ``url`` and are down when a ping does not come in time."""

    queryset = Heartbeat.objects.select_related("team").order_by("id")
    serializer_class = HeartbeatSerializer

    def before_delete(self, heartbeat):
        # An open incident of a deleted heartbeat would go on escalating with nobody able to
        # find its source; it ends with the heartbeat.
        resolve_open_incident(
            source_type=IncidentSource.HEARTBEAT,
            source_id=heartbeat.pk,
            by=f"{self.actor()} (heartbeat deleted)",
            now=timezone.now(),
        )

    @extend_schema(
        parameters=range_parameters(),
        responses={200: HeartbeatAvailabilityDocument, **error_responses(400, 404)},
        tags=["Heartbeats"],
    )
    @action(detail=True, methods=["get"])
    def availability(self, request, pk=None):
        heartbeat = self.get_object()
        now = timezone.now()
        start, end = day_range(request.query_params, created_at=heartbeat.created_at, now=now)
        figures = availability_of(
            source_type=IncidentSource.HEARTBEAT,
            source_id=heartbeat.pk,
            start=start,
            end=end,
            existed_since=heartbeat.created_at,
            now=now,
        )
        return Response(
            {"data": {"id": str(heartbeat.pk), "type": "heartbeat_availability", "attributes": figures.as_attributes()}}
        )


@document_resource(HeartbeatGroupSerializer, "heartbeat_group", tags=["Heartbeat groups"])
class HeartbeatGroupViewSet(GroupViewSet):
    """Heartbeat groups: pausing one pauses the checks and alerts of its heartbeats."""

    queryset = HeartbeatGroup.objects.select_related("team")
    serializer_class = HeartbeatGroupSerializer

    @members_schema(HeartbeatViewSet.list_document_serializer, "Heartbeat groups")
    @action(detail=True, methods=["get"])
    def heartbeats(self, request, pk=None):
        group = self.get_object()
        heartbeats = HeartbeatViewSet.queryset.filter(team=self.team, heartbeat_group=group)
        return self.member_page(heartbeats, HeartbeatSerializer(context=self.get_serializer_context()))
