"""The ping URL forms of docs/api.md; a trailing slash is accepted too (APPEND_SLASH is off).

The token is URL-safe base64 (letters, digits, "-" and "_"); anything else cannot be one
of ours and falls through to the project's 404 without a query. heartbeats.views'
ping route matches the same expression itself, without the URL resolver.
"""

from django.urls import re_path

from heartbeats import views
from heartbeats.views import PING_PATTERN

urlpatterns = [
    re_path("^" + PING_PATTERN, views.ping, name="heartbeat-ping"),
]
