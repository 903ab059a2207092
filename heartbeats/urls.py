"""The ping URL forms of API.md; a trailing slash is accepted too (APPEND_SLASH is off)."""

from django.urls import re_path

from heartbeats import views

# The token is URL-safe base64 (letters, digits, "-" and "_"); anything else cannot be one
# of ours and falls through to the project's 404 without a query.
urlpatterns = [
    re_path(r"^api/v1/heartbeat/(?P<token>[A-Za-z0-9_-]+)/?$", views.ping, name="heartbeat-ping"),
    re_path(r"^api/v1/heartbeat/(?P<token>[A-Za-z0-9_-]+)/(?P<action>[^/]+)/?$", views.ping, name="heartbeat-ping-action"),
]
