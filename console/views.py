"""The admin index as the console's overview, and its acknowledge / resolve buttons.

The buttons POST (with the admin's CSRF token) to the incident service functions of
alerts.incidents, the one door every transition goes through; a click that lost the race
(someone else acknowledged first) says so instead of failing.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.incidents import acknowledge_incident, resolve_incident
from alerts.models import Incident
from console.overview import overview


def overview_page(request: HttpRequest) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": admin.site.index_title,
        "subtitle": None,
        "app_list": admin.site.get_app_list(request),
        **overview(now=timezone.now()),
    }
    request.current_app = admin.site.name
    return TemplateResponse(request, "console/overview.html", context)


@require_POST
@staff_member_required
def incident_transition(request: HttpRequest, pk: int, transition: str) -> HttpResponse:
    if not request.user.has_perm("alerts.change_incident"):
        messages.error(request, "You may not change incidents.")
        return HttpResponseRedirect(reverse("admin:index"))
    incident = get_object_or_404(Incident.objects.not_deleted(), pk=pk)
    by, now = f"{request.user.get_username()} (admin)", timezone.now()
    if transition == "acknowledge":
        done = acknowledge_incident(incident.pk, by=by, now=now)
        messages.add_message(
            request,
            messages.SUCCESS if done else messages.WARNING,
            f"Acknowledged incident {incident.pk}."
            if done
            else f"Incident {incident.pk} was already acknowledged or resolved.",
        )
    else:
        done = resolve_incident(incident.pk, by=by, now=now)
        messages.add_message(
            request,
            messages.SUCCESS if done else messages.WARNING,
            f"Resolved incident {incident.pk}." if done else f"Incident {incident.pk} was already resolved.",
        )
    back = request.POST.get("next", "")
    return HttpResponseRedirect(back if back.startswith("/admin/") else reverse("admin:index"))
