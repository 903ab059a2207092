"""REST API routes (API.md) and the OpenAPI document at /api/schema/, browsable at /api/docs/.

The Swagger UI's scripts and styles come from drf-spectacular-sidecar and are served from
here, so the docs page works on a machine without internet access. New versioned endpoints
belong in this module, above the catch-all that answers unknown /api/v2 and /api/v3 paths
with the API's JSON 404.
"""

from pathlib import Path

import drf_spectacular_sidecar
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from alerts.api import IncidentViewSet, PolicyViewSet
from alerts.channel_api import ChannelViewSet
from config.jsonapi.errors import NOT_FOUND_MESSAGE
from config.jsonapi.routers import ResourceRouter
from heartbeats.api import HeartbeatViewSet
from monitors.api import MonitorViewSet


def unknown_endpoint(request):
    return JsonResponse({"errors": NOT_FOUND_MESSAGE}, status=404)


SWAGGER_ASSETS = (
    Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"
)

v2 = ResourceRouter()
v2.register("monitors", MonitorViewSet, basename="monitor")
v2.register("heartbeats", HeartbeatViewSet, basename="heartbeat")
v2.register("incidents", IncidentViewSet, basename="incident-v2")

v3 = ResourceRouter()
v3.register("incidents", IncidentViewSet, basename="incident")
v3.register("policies", PolicyViewSet, basename="policy")
v3.register("channels", ChannelViewSet, basename="channel")

urlpatterns = [
    path("api/v2/", include(v2.urls)),
    path("api/v3/", include(v3.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/docs/assets/(?P<path>[\w.-]+)$", serve, {"document_root": SWAGGER_ASSETS}, name="api-docs-assets"),
    # Anything else under a versioned prefix answers in the API's own 404 shape, not HTML.
    re_path(r"^api/v[23]/", unknown_endpoint),
]
