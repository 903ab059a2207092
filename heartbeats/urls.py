"""The ping URL forms of docs/api.md; a trailing slash is accepted too (APPEND_SLASH is off).

The token is URL-safe base64 (letters, digits, "-" and "_"); anything else cannot be one
of ours and falls through to the project's 404 without a query. heartbeats.wsgi matches
the same expression itself so the lean route skips the URL resolver.
"""

import re

from django.urls import re_path

from heartbeats import views

PING_PATTERN = r"api/v1/heartbeat/(?P<token>[A-Za-z0-9_-]+)(?:/(?P<action>[^/]+))?/?$"
PING_PATH = re.compile("^/" + PING_PATTERN)

urlpatterns = [
    re_path("^" + PING_PATTERN, views.ping, name="heartbeat-ping"),
]
