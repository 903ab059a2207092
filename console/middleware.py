"""Times in the viewer's zone: the admin's pages set the ``pharos_tz`` cookie from the
browser (admin/base_site.html); each admin request activates that zone when it is a known
IANA name, and the settings' zone (UTC) otherwise. Storage stays in UTC, and only the
admin's pages follow the cookie: the API, the ping URLs and the feeds answer as before
whatever cookies a browser sends."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from config.zones import zone_or_none

COOKIE = "pharos_tz"
ADMIN_PREFIX = "/admin/"


class ViewerTimeZone:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        zone = zone_or_none(request.COOKIES.get(COOKIE, "")[:64])
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
