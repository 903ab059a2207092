"""The admin side of alerts.alertable: the alerting and maintenance fields of a monitor or
heartbeat form, with the API's rules, and the pause/resume actions (alerts.pausing)."""

from typing import Any

from django import forms
from django.contrib import admin

from alerts.alertable import MAINTENANCE_FIELDS
from alerts.pausing import SourcePausing
from config.adminkit import pause, resume
from config.zones import zone_or_none

ALERTING_FIELDSETS = [
    ("Alerting", {"fields": ["email", "sms", "call", "push", "critical_alert", "team_wait", "policy"]}),
    ("Maintenance window", {"fields": list(MAINTENANCE_FIELDS)}),
]


class AlertableForm(forms.ModelForm):
    """What the API refuses with a 422, the form refuses with a message on the field."""

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
