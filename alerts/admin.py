from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from alerts import incident_page, incidents
from alerts.escalation import validate_policy_steps
from alerts.models import (
    Escalation,
    EscalationPolicy,
    Incident,
    OperatorEvent,
    PolicyGroup,
    ReachedNobodyNotice,
    Urgency,
)
from config.adminkit import status_badge


class EscalationInline(admin.StackedInline):
    model = Escalation
    can_delete = False
    max_num = 0
    fields = ["next_step", "due_at"]
    readonly_fields = fields
    verbose_name_plural = "escalation"


def _actor(request: HttpRequest) -> str:
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
    inlines = [EscalationInline]
    actions = ["acknowledge", "resolve"]
    # The facts are what happened: shown, never edited (the page's buttons act on it).
    fieldsets: list[tuple[str | None, dict[str, Any]]] = [
        (
            None,
            {
                "fields": [
                    "name",
                    "coloured_status",
                    "source",
                    "kind",
                    "cause",
                    "url",
                    "http_method",
                    "team",
                    "reached",
                    "started_at",
                    ("acknowledged_at", "acknowledged_by"),
                    ("resolved_at", "resolved_by"),
                ]
            },
        ),
        ("Act", {"fields": ["buttons"]}),
        ("Response", {"fields": ["response"]}),
        ("Timeline", {"fields": ["timeline"]}),
        (
            "Details",
            {
                "classes": ["collapse"],
                "fields": ["summary", "regions", "response_options", "metadata", "requester_email", "deleted_at"],
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        return [field for _, options in self.fieldsets for row in options["fields"] for field in _names(row)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Incidents open through the aggregator, the heartbeat sweep or the API (manual).
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Nothing on the page is a form field: no save buttons, only the incident's own.
        hidden = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**hidden, **(extra_context or {})})

    def get_urls(self) -> list[URLPattern]:
        act = self.admin_site.admin_view
        return [
            path("<int:pk>/acknowledge/", act(self.acknowledge_one), name="alerts_incident_acknowledge"),
            path("<int:pk>/resolve/", act(self.resolve_one), name="alerts_incident_resolve"),
            path("<int:pk>/comment/", act(self.comment_one), name="alerts_incident_comment"),
            *super().get_urls(),
        ]

    @admin.display(description="status", ordering="status")
    def coloured_status(self, incident: Incident) -> SafeString:
        return status_badge(incident.status)

    @admin.display(description="source")
    def source(self, incident: Incident) -> SafeString:
        return incident_page.source_link(incident)

    @admin.display(description="reached", ordering="reached_nobody")
    def reached(self, incident: Incident) -> SafeString | str:
        # Loud on purpose: an incident that paged nobody must not look like one that did.
        return status_badge("reached nobody") if incident.reached_nobody else "—"

    @admin.display(description="regions")
    def region_list(self, incident: Incident) -> str:
        return ", ".join(incident.regions or [])

    @admin.display(description="failing response or output")
    def response(self, incident: Incident) -> SafeString:
        return incident_page.response_html(incident)

    @admin.display(description="timeline")
    def timeline(self, incident: Incident) -> SafeString:
        return incident_page.timeline_html(incident)

    @admin.display(description="actions")
    def buttons(self, incident: Incident) -> SafeString:
        # formaction: the buttons post the change form (and its CSRF token) to their own URL.
        parts = []
        if incident.is_open and incident.acknowledged_at is None:
            parts.append(_button(reverse("admin:alerts_incident_acknowledge", args=[incident.pk]), "Acknowledge"))
        if incident.is_open:
            parts.append(_button(reverse("admin:alerts_incident_resolve", args=[incident.pk]), "Resolve"))
        comment = reverse("admin:alerts_incident_comment", args=[incident.pk])
        return format_html(
            '<div style="display:flex;gap:.5em;flex-wrap:wrap;align-items:flex-start">{}'
            '<textarea name="comment" rows="2" cols="40" maxlength="{}" aria-label="comment" '
            'placeholder="A comment for the timeline"></textarea>{}</div>',
            mark_safe("".join(parts)),
            COMMENT_LIMIT,
            _button(comment, "Comment"),
        )

    def acknowledge_one(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._act(request, pk, incidents.acknowledge_incident, "Acknowledged", "was already acknowledged")

    def resolve_one(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._act(request, pk, incidents.resolve_incident, "Resolved", "was already resolved")

    def comment_one(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = self._incident_for(request, pk)
        text = (request.POST.get("comment") or "").strip()
        if not text:
            self.message_user(request, "Write a comment first.", messages.WARNING)
        else:
            incidents.comment_on_incident(
                incident.pk, content=text[:COMMENT_LIMIT], by=_actor(request), now=timezone.now(), user=request.user
            )
            self.message_user(request, "Comment added.", messages.SUCCESS)
        return redirect("admin:alerts_incident_change", incident.pk)

    def _act(
        self, request: HttpRequest, pk: int, transition: Callable[..., bool], done: str, already: str
    ) -> HttpResponse:
        incident = self._incident_for(request, pk)
        if transition(incident.pk, by=_actor(request), now=timezone.now()):
            self.message_user(request, f"{done} incident #{incident.pk}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Incident #{incident.pk} {already}.", messages.WARNING)
        return redirect("admin:alerts_incident_change", incident.pk)

    def _incident_for(self, request: HttpRequest, pk: int) -> Incident:
        if request.method != "POST":
            raise PermissionDenied("POST only")  # a link preview must not act
        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        return incident

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        done = sum(
            incidents.acknowledge_incident(pk, by=_actor(request), now=now)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Acknowledged {done} incident(s).", messages.SUCCESS)

    @admin.action(description="Resolve selected incidents")
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        done = sum(
            incidents.resolve_incident(pk, by=_actor(request), now=now) for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Resolved {done} incident(s).", messages.SUCCESS)


COMMENT_LIMIT = 10_000  # the API's limit for a comment (alerts.serializers)


def _names(row: str | tuple[str, ...]) -> tuple[str, ...]:
    return row if isinstance(row, tuple) else (row,)


def _button(url: str, label: str) -> SafeString:
    return format_html(
        '<button type="submit" formaction="{}" formmethod="post" class="button" style="padding:.5em 1em">{}</button>',
        url,
        label,
    )


class EscalationPolicyForm(forms.ModelForm):
    class Meta:
        model = EscalationPolicy
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
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
    def step_count(self, policy: EscalationPolicy) -> int:
        return len(policy.steps or [])


@admin.register(OperatorEvent)
class OperatorEventAdmin(admin.ModelAdmin):
    list_display = ["at", "kind", "region", "message"]
    list_filter = ["kind", "region"]
    search_fields = ["message"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ReachedNobodyNotice)
class ReachedNobodyNoticeAdmin(admin.ModelAdmin):
    """Which teams the operators were told about (alerts.reached_nobody): a record, not a form."""

    list_display = ["team", "incident", "created_at", "told_at"]
    list_select_related = ["team", "incident"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
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
