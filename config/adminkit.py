"""Pieces every app's admin shares: coloured status badges and the pause/resume actions."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

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
}


def status_badge(value):
    colour = STATUS_COLOURS.get(value, "#6e7781")
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:9px;font-weight:600">{}</span>',
        colour,
        value,
    )


@admin.action(description="Pause selected")
def pause(modeladmin, request, queryset):
    now = timezone.now()
    # Only rows not already paused: pausing twice must not move paused_at.
    ids = list(queryset.filter(paused_at__isnull=True).values_list("pk", flat=True))
    count = queryset.model.objects.filter(pk__in=ids, paused_at__isnull=True).update(
        paused_at=now, status="paused", updated_at=now
    )
    if any(field.name == "paused_with_group" for field in queryset.model._meta.fields):
        # Paused by hand now: it stays paused when its group resumes (alerts.source_groups).
        queryset.filter(paused_with_group=True).update(paused_with_group=False)
    after_pause = getattr(modeladmin, "after_pause", None)
    if after_pause is not None:
        after_pause(ids, now=now)
    modeladmin.message_user(request, f"Paused {count}.", messages.SUCCESS)


@admin.action(description="Resume selected")
def resume(modeladmin, request, queryset):
    now = timezone.now()
    resumed = 0
    for obj in queryset.filter(paused_at__isnull=False):
        modeladmin.resume_one(obj, now=now)
        resumed += 1
    modeladmin.message_user(request, f"Resumed {resumed}.", messages.SUCCESS)
