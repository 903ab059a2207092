from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Pharos"
admin.site.site_title = "Pharos"
admin.site.index_title = "Monitors, heartbeats and incidents"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The heartbeat ping URL: /api/v1/heartbeat/<token>[/fail|/start|/<exit_code>].
    path("", include("heartbeats.urls")),
]
