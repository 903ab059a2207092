"""``/api/v2/heartbeats``: the heartbeat resource and its availability (docs/api.md)."""

from django.utils import timezone
from rest_framework.decorators import action

from alerts.availability_api import availability_action
from alerts.incidents import resolve_open_incident
from alerts.models import IncidentSource
from alerts.source_groups import GroupViewSet, members_schema
from config.jsonapi.schema import document_resource
from config.jsonapi.views import ResourceViewSet
from heartbeats.models import Heartbeat, HeartbeatGroup
from heartbeats.serializers import HeartbeatGroupSerializer, HeartbeatRelationshipsSerializer, HeartbeatSerializer


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

    availability = availability_action("availability", source_type=IncidentSource.HEARTBEAT)


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
