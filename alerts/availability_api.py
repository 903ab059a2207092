"""The ``sla`` / ``availability`` action of a source's API (monitors' ``/sla``, heartbeats'
``/availability``): one implementation, Better Stack's two names.

``GET /api/v2/<sources>/{id}/<name>?from=YYYY-MM-DD&to=YYYY-MM-DD`` answers the figures of
alerts.availability over those whole UTC days (config.jsonapi.ranges).
"""

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.availability import availability_of
from alerts.serializers import AvailabilitySerializer
from config.jsonapi.ranges import day_range, range_parameters
from config.jsonapi.schema import error_responses
from config.jsonapi.serializers import singleton_document


def availability_action(name: str, *, source_type: str) -> Callable:
    """A detail action called ``name`` for a viewset of ``source_type`` sources (monitor,
    heartbeat), answering a ``<source_type>_<name>`` document."""
    resource_type = f"{source_type}_{name}"
    document, tag = f"{source_type.title()}{name.title()}", f"{source_type.title()}s"

    def figures(self: Any, request: Request, pk: str | None = None) -> Response:
        source = self.get_object()
        now = timezone.now()
        start, end = day_range(request.query_params, created_at=source.created_at, now=now)
        result = availability_of(
            source_type=source_type, source_id=source.pk, start=start, end=end, existed_since=source.created_at, now=now
        )
        return Response({"data": {"id": str(source.pk), "type": resource_type, "attributes": result.as_attributes()}})

    # The router finds the action by this name (DRF maps GET to the function's name).
    figures.__name__ = figures.__qualname__ = name
    schema = extend_schema(
        parameters=range_parameters(),
        responses={
            200: singleton_document(document, resource_type, AvailabilitySerializer),
            **error_responses(400, 404),
        },
        tags=[tag],
    )
    return schema(action(detail=True, methods=["get"])(figures))
