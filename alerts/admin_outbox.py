"""Admin for channels and the notification outbox (imported by alerts/admin.py).

Channel secrets are write-only here too: the form shows which secret names are set and
takes new values, never displays old ones. Failed notifications are one filter away, with
their last error, and can be sent again.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts import channels as registry
from alerts.delivery import enqueue
from alerts.models import Channel, Notification, NotificationStatus

STATUS_COLOURS = {
    "delivered": "#1a7f37",
    "failed": "#cf222e",
    "pending": "#6e7781",
    "sending": "#bf8700",
    "skipped": "#0969da",
}


class ChannelForm(forms.ModelForm):
    new_secrets = forms.JSONField(
        required=False,
        label="Secrets",
        help_text='JSON object of secret values (e.g. {"webhook_url": …}). Leave empty to keep the stored secrets; '
        "stored values are never shown.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = Channel
        fields = ["team", "user", "kind", "name", "enabled", "config"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        secrets = cleaned.get("new_secrets")
        if secrets in (None, ""):
            secrets = self.instance.secrets if self.instance.pk else {}
        errors = registry.validate(kind, cleaned.get("config") or {}, secrets)
        for attribute, problems in errors.items():
            field = (
                "config"
                if attribute.startswith("config")
                else "new_secrets"
                if attribute.startswith("secrets")
                else None
            )
            for problem in problems:
                self.add_error(field, f"{attribute} {problem}")
        cleaned["resolved_secrets"] = secrets
        return cleaned

    def save(self, commit: bool = True) -> Channel:
        self.instance.secrets = self.cleaned_data["resolved_secrets"]
        return super().save(commit)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["__str__", "kind", "team", "user", "enabled", "secret_names", "updated_at"]
    list_filter = ["kind", "enabled", "team"]
    search_fields = ["name"]
    list_select_related = ["team", "user"]
    readonly_fields = ["secret_names", "created_at", "updated_at"]

    @admin.display(description="secrets set")
    def secret_names(self, channel: Channel) -> str:
        return ", ".join(sorted(channel.secrets or {})) or "—"


class FailedFilter(admin.SimpleListFilter):
    """The question an operator comes with: what did not reach anyone?"""

    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("failed", "Failed"), ("owed", "Still owed (pending or sending)"), ("retrying", "Retrying")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "failed":
            return queryset.filter(status=NotificationStatus.FAILED)
        if self.value() == "owed":
            return queryset.filter(status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING])
        if self.value() == "retrying":
            return queryset.filter(status=NotificationStatus.PENDING, attempts__gt=0)
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "incident",
        "status_report",
        "event",
        "step",
        "kind",
        "target",
        "coloured_status",
        "attempts",
        "last_error_short",
        "created_at",
        "delivered_at",
    ]
    list_filter = [FailedFilter, "status", "kind", "event"]
    search_fields = ["address", "recipient", "last_error"]
    list_select_related = ["incident", "status_report", "channel"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

    @admin.display(description="to")
    def target(self, notification: Notification) -> str:
        return notification.address or str(notification.channel or notification.recipient)

    @admin.display(description="status", ordering="status")
    def coloured_status(self, notification: Notification) -> SafeString:
        colour = STATUS_COLOURS.get(notification.status, "#6e7781")
        return format_html(
            '<span style="background:{};color:#fff;padding:2px 8px;border-radius:9px;font-weight:600">{}</span>',
            colour,
            notification.status,
        )

    @admin.display(description="last error")
    def last_error_short(self, notification: Notification) -> str:
        return (notification.last_error[:80] + "…") if len(notification.last_error) > 80 else notification.last_error

    @admin.action(description="Send selected failed notifications again")
    def send_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        with transaction.atomic():
            ids = list(queryset.filter(status=NotificationStatus.FAILED).values_list("pk", flat=True))
            # Only failed rows, and a fresh attempt budget: a row being sent is left alone.
            Notification.objects.filter(pk__in=ids, status=NotificationStatus.FAILED).update(
                status=NotificationStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
            )
            transaction.on_commit(lambda: enqueue(ids))
        self.message_user(request, f"Queued {len(ids)} notification(s) again.", messages.SUCCESS)
