from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from alerts import incidents
from alerts.escalation import validate_policy_steps
from alerts.models import (
    Escalation,
    EscalationPolicy,
    Incident,
    IncidentEvent,
    OperatorEvent,
    PolicyGroup,
    ReachedNobodyNotice,
    Urgency,
)
from config.adminkit import status_badge


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    extra = 0
    can_delete = False
    max_num = 0
    fields = ["at", "kind", "message", "actor"]
    readonly_fields = fields
    # Comments (the API's /comments) are timeline events of kind "comment".
    verbose_name_plural = "timeline and comments"


class EscalationInline(admin.StackedInline):
    model = Escalation
    can_delete = False
    max_num = 0
    fields = ["next_step", "due_at"]
    readonly_fields = fields
    verbose_name_plural = "escalation"


def _actor(request):
    return request.user.get_username() or "admin"


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "coloured_status",
        "source",
        "kind",
        "cause",
        "region_list",
        "reached",
        "started_at",
        "acknowledged_at",
        "resolved_at",
        "team",
    ]
    list_filter = ["status", "reached_nobody", "kind", "source_type", "team"]
    search_fields = ["name", "cause", "url"]
    list_select_related = ["team"]
    date_hierarchy = "started_at"
    inlines = [EscalationInline, IncidentEventInline]
    actions = ["acknowledge", "resolve"]
    readonly_fields = [
        "team",
        "source_type",
        "source_id",
        "kind",
        "status",
        "started_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "deleted_at",
        "reached_nobody",
        "regions",
        "response_content",
        "response_options",
        "metadata",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        # Incidents open through the aggregator, the heartbeat sweep or the API (manual).
        return False

    @admin.display(description="status", ordering="status")
    def coloured_status(self, incident):
        return status_badge(incident.status)

    @admin.display(description="source")
    def source(self, incident):
        return incident.source_type if incident.source_id is None else f"{incident.source_type} #{incident.source_id}"

    @admin.display(description="reached", ordering="reached_nobody")
    def reached(self, incident):
        # Loud on purpose: an incident that paged nobody must not look like one that did.
        return status_badge("reached nobody") if incident.reached_nobody else "—"

    @admin.display(description="regions")
    def region_list(self, incident):
        return ", ".join(incident.regions or [])

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge(self, request, queryset):
        now = timezone.now()
        done = sum(
            incidents.acknowledge_incident(pk, by=_actor(request), now=now)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Acknowledged {done} incident(s).", messages.SUCCESS)

    @admin.action(description="Resolve selected incidents")
    def resolve(self, request, queryset):
        now = timezone.now()
        done = sum(
            incidents.resolve_incident(pk, by=_actor(request), now=now) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Resolved {done} incident(s).", messages.SUCCESS)


class EscalationPolicyForm(forms.ModelForm):
    class Meta:
        model = EscalationPolicy
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        # The same rules as the API, so the admin cannot save a policy escalation cannot run.
        errors = validate_policy_steps(
            cleaned.get("steps"), cleaned.get("repeat_count") or 0, cleaned.get("repeat_delay") or 0
        )
        if errors:
            raise forms.ValidationError({"steps": errors})
        return cleaned


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    form = EscalationPolicyForm
    list_display = ["name", "team", "policy_group", "step_count", "repeat_count", "repeat_delay", "updated_at"]
    list_filter = ["team", "policy_group"]
    readonly_fields = ["incident_token"]
    search_fields = ["name"]

    @admin.display(description="steps")
    def step_count(self, policy):
        return len(policy.steps or [])


@admin.register(OperatorEvent)
class OperatorEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "region", "message"]
    list_filter = ["kind", "region"]
    search_fields = ["message"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False


@admin.register(ReachedNobodyNotice)
class ReachedNobodyNoticeAdmin(admin.ModelAdmin):
    """Which teams the operators were told about (alerts.reached_nobody): a record, not a form."""

    list_display = ["team", "incident", "created_at", "told_at"]
    list_select_related = ["team", "incident"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Channels and the notification outbox (issue #6) live in their own module.
from alerts import admin_outbox  # noqa: E402,F401


@admin.register(Urgency)
class UrgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "call", "sms", "email", "push", "critical_alert", "team"]
    list_filter = ["team"]
    search_fields = ["name"]


@admin.register(PolicyGroup)
class PolicyGroupAdmin(admin.ModelAdmin):
    list_display = ["__str__", "sort_index", "team"]
    list_filter = ["team"]
    search_fields = ["name"]
