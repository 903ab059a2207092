from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Pharos"
admin.site.site_title = "Pharos"
admin.site.index_title = "Monitors, heartbeats and incidents"
# The console is the site: no "View site" link to a / that answers 404.
admin.site.site_url = None

urlpatterns = [
    # The console's overview is the admin index (console.urls), so it comes first.
    path("", include("console.urls")),
    path("admin/", admin.site.urls),
    # The heartbeat ping URL: /api/v1/heartbeat/<token>[/fail|/start|/<exit_code>].
    path("", include("heartbeats.urls")),
]

# Pharos's own health and metrics (issue #8): not part of the versioned API.
from config.health import healthcheck  # noqa: E402
from config.metrics import metrics_view  # noqa: E402

urlpatterns += [
    path("api/healthcheck", healthcheck, name="healthcheck"),
    path("metrics", metrics_view, name="metrics"),
]

# The one-click acknowledge link from alert emails (issue #6).
urlpatterns += [path("alerts/", include("alerts.urls"))]

# On-call calendars as iCalendar feeds for calendar apps (issue #13).
urlpatterns += [path("", include("teams.urls"))]

# Public status pages (issue #12).
urlpatterns += [path("", include("status.urls"))]

# The REST API in Better Stack's dialect, its OpenAPI document and docs page (issue #7).
urlpatterns += [path("", include("config.api_urls"))]
