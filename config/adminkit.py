"""Pieces every app's admin shares: coloured status badges and the pause/resume actions."""

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

if TYPE_CHECKING:
    from alerts.alertable_admin import AlertableAdmin

STATUS_COLOURS = {
    "up": "#1a7f37",
    "down": "#cf222e",
    "validating": "#bf8700",
    "pending": "#6e7781",
    "paused": "#6e7781",
    "maintenance": "#0969da",
    "Started": "#cf222e",
    "Acknowledged": "#bf8700",
    "Validating": "#bf8700",
    "Resolved": "#1a7f37",
    "reached nobody": "#cf222e",
}


def status_badge(value: str) -> SafeString:
    colour = STATUS_COLOURS.get(value, "#6e7781")
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:9px;font-weight:600">{}</span>',
        colour,
        value,
    )


@admin.action(description="Pause selected")
def pause(modeladmin: "AlertableAdmin", request: HttpRequest, queryset: QuerySet) -> None:
    """Pause by hand: it then stays paused when its group resumes (alerts.source_groups)."""
    moved = _change_pause(modeladmin, request, queryset, paused=True)
    modeladmin.message_user(request, f"Paused {moved}.", messages.SUCCESS)


@admin.action(description="Resume selected")
def resume(modeladmin: "AlertableAdmin", request: HttpRequest, queryset: QuerySet) -> None:
    """Lift the own pause; a member of a paused group stays paused with it."""
    moved = _change_pause(modeladmin, request, queryset.filter(paused_at__isnull=False), paused=False)
    modeladmin.message_user(request, f"Resumed {moved}.", messages.SUCCESS)


def _change_pause(modeladmin: "AlertableAdmin", request: HttpRequest, queryset: QuerySet, *, paused: bool) -> int:
    # One rule for the admin and the API: alerts.pausing, with the ModelAdmin's ``pausing``.
    from alerts.pausing import change_pause

    now, actor = timezone.now(), f"{request.user.get_username()} (admin)"
    return sum(
        change_pause(modeladmin.pausing, source, paused=paused, now=now, actor=actor)
        for source in queryset.order_by("pk")
    )
