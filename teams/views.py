"""The on-call calendar's iCalendar feed: ``/on-call/<token>.ics``, no login (the token is the secret)."""

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from teams.ical import render_feed
from teams.models import OnCallCalendar


@require_safe
@never_cache
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    calendar = OnCallCalendar.objects.select_related("team", "rotation").filter(feed_token=token).first()
    if calendar is None:
        return HttpResponseNotFound("No such calendar feed\n", content_type="text/plain; charset=utf-8")
    response = HttpResponse(render_feed(calendar, now=timezone.now()), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="on-call.ics"'
    return response
