"""REST API routes (docs/api.md) and the OpenAPI document at /api/schema/, browsable at /api/docs/.

The Swagger UI's scripts and styles come from drf-spectacular-sidecar and are served from
here, so the docs page works on a machine without internet access. New versioned endpoints
belong in this module, above the catch-all that answers every unknown path under /api/ with
the API's JSON 404 (config.jsonapi.everywhere).
"""

from pathlib import Path

import drf_spectacular_sidecar
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from alerts.api import IncidentViewSet, PolicyViewSet
from alerts.channel_api import ChannelViewSet
from alerts.urgency_api import PolicyGroupViewSet, UrgencyViewSet
from config.jsonapi.everywhere import unknown_endpoint
from config.jsonapi.routers import ResourceRouter
from heartbeats.api import HeartbeatGroupViewSet, HeartbeatViewSet
from monitors.api import MonitorGroupViewSet, MonitorViewSet
from status.api_routes import register_status_routes
from teams.api import OnCallCalendarViewSet

SWAGGER_ASSETS = (
    Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"
)

v2 = ResourceRouter()
v2.register("monitors", MonitorViewSet, basename="monitor")
v2.register("heartbeats", HeartbeatViewSet, basename="heartbeat")
v2.register("incidents", IncidentViewSet, basename="incident-v2")
v2.register("monitor-groups", MonitorGroupViewSet, basename="monitor-group")
v2.register("heartbeat-groups", HeartbeatGroupViewSet, basename="heartbeat-group")
v2.register("urgencies", UrgencyViewSet, basename="urgency")
v2.register("policy-groups", PolicyGroupViewSet, basename="policy-group")
v2.register("on-calls", OnCallCalendarViewSet, basename="on-call")
register_status_routes(v2)

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
    # Anything else under /api/ answers in the API's own 404 shape, for every method.
    re_path(r"^api/", unknown_endpoint),
]
