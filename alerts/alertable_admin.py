"""The admin side of alerts.alertable: the alerting and maintenance fields of a monitor or
heartbeat form, with the API's rules, the pause/resume actions (alerts.pausing), and a
save that writes only what the form changed."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from alerts.alertable import MAINTENANCE_FIELDS, AlertableSource
from alerts.pausing import SourcePausing, reschedule
from config.adminkit import pause, resume
from config.zones import zone_or_none
from teams.limits import LimitReached, claim_room_for

ALERTING_FIELDSETS = [
    ("Alerting", {"fields": ["email", "sms", "call", "push", "critical_alert", "team_wait", "policy"]}),
    ("Maintenance window", {"fields": list(MAINTENANCE_FIELDS)}),
]


class AlertableForm(forms.ModelForm):
    """What the API refuses with a 422, the form refuses with a message on the field."""

    def clean_team(self) -> Any:
        team = self.cleaned_data.get("team")
        if team is not None and (self.instance.pk is None or self.instance.team_id != team.pk):
            # The admin saves inside a transaction: the team's row stays locked until then.
            try:
                claim_room_for(team, self._meta.model)
            except LimitReached as error:
                raise forms.ValidationError(f"The team is full: {error}.") from None
        return team

    def clean_maintenance_timezone(self) -> str:
        name = self.cleaned_data.get("maintenance_timezone", "")
        if zone_or_none(name) is None:
            raise forms.ValidationError(f"Unknown time zone {name!r}.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        has_from = cleaned.get("maintenance_from") is not None
        has_to = cleaned.get("maintenance_to") is not None
        if has_from != has_to:
            missing = "maintenance_to" if has_from else "maintenance_from"
            self.add_error(missing, "Set both ends of the maintenance window, or neither.")
        return cleaned


class AlertableAdmin(admin.ModelAdmin):
    pausing: SourcePausing  # what the pause and resume actions apply

    raw_id_fields = ["policy"]
    actions = [pause, resume]

    def save_model(self, request: HttpRequest, obj: AlertableSource, form: forms.ModelForm, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # A round, a ping or a sweep may have written the source's state (status, run
        # timestamps, deadline) since this request read the row; a full save() would put
        # the values read back (a lost update). Only the columns the form changed go out.
        changed = changed_columns(obj, form)
        if not changed:
            return
        obj.save(update_fields=changed)
        if set(changed) & set(self.pausing.schedule_fields):
            # A new schedule moves an active source's deadline, as a PATCH does; computed
            # from the row as it is now, which a ping or a round may have moved since this
            # request read it. A new source is phased by its first tick or ping instead.
            reschedule(self.pausing, self.pausing.rows().get(pk=obj.pk), now=timezone.now())


def changed_columns(obj: models.Model, form: forms.ModelForm) -> list[str]:
    """The fields of ``obj`` the form changed: its value now differs from the one the form
    was built with (``form.initial``), which also catches what ``clean()`` derived (a
    monitor's timeout following its frequency). Plus ``auto_now`` stamps, when anything."""
    changed = [
        field.name
        for field in obj._meta.concrete_fields
        if field.name in form.initial and field.value_from_object(obj) != form.initial[field.name]
    ]
    if changed:
        changed += [
            f.name for f in obj._meta.concrete_fields if getattr(f, "auto_now", False) and f.name not in changed
        ]
    return changed
