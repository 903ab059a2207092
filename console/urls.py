from django.contrib import admin
from django.urls import path

from console.views import incident_transition, overview_page

# Listed before admin.site.urls: /admin/ is the overview (reverse("admin:index") still
# finds it), the rest of the admin is untouched.
urlpatterns = [
    path("admin/", admin.site.admin_view(overview_page), name="console-overview"),
    path(
        "admin/console/incidents/<int:pk>/acknowledge",
        incident_transition,
        {"transition": "acknowledge"},
        name="console-incident-acknowledge",
    ),
    path(
        "admin/console/incidents/<int:pk>/resolve",
        incident_transition,
        {"transition": "resolve"},
        name="console-incident-resolve",
    ),
]
