"""The client address django-axes counts failed admin logins by (settings.AXES_CLIENT_IP_CALLABLE).

The same rule as the ping endpoint's (heartbeats.views.client_address): REMOTE_ADDR, or the
right-most X-Forwarded-For entry our own PHAROS_TRUSTED_PROXIES did not write. Behind the
reverse proxy every client would otherwise be the proxy, sharing one lockout; and a
client talking to gunicorn directly could otherwise pick a fresh address per guess.
"""

from django.conf import settings
from django.http import HttpRequest

from heartbeats.views import client_address


def client_ip(request: HttpRequest) -> str:
    return client_address(request.META, settings.PHAROS_TRUSTED_PROXIES) or ""
