from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from alerts.alertable_admin import ALERTING_FIELDSETS, AlertableAdmin, AlertableForm
from alerts.source_groups_admin import SourceGroupAdmin
from console.monitor_columns import LIST_COLUMNS, MonitorListColumns
from console.monitor_form import MonitorFormFields
from console.readonly import ReadOnlyAdmin, milliseconds
from monitors import quarantine
from monitors.models import (
    CheckResult,
    DomainRegistration,
    LoneFailure,
    Monitor,
    MonitorGroup,
    MonitorRequestHeader,
    RegionQuarantine,
    ResultRollup,
    Round,
)
from monitors.pausing import MONITOR_PAUSING
from monitors.serializers import MONITOR_GROUP_MEMBERS
from monitors.types import REGISTRY, bounded_timeout, converted_timeout, timeout_error
from status.badges import badge_admin_html


class RequestHeaderInline(admin.TabularInline):
    model = MonitorRequestHeader
    extra = 0


class MonitorForm(MonitorFormFields, AlertableForm):
    """The API's rules for what the admin writes (monitors.types for the timeout)."""

    class Meta:
        model = Monitor
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        monitor_type, frequency = cleaned.get("monitor_type"), cleaned.get("check_frequency")
        if monitor_type not in REGISTRY or not frequency:
            return cleaned
        if "request_timeout" in self.changed_data and cleaned.get("request_timeout") is not None:
            problem = timeout_error(monitor_type, cleaned["request_timeout"], frequency)
            if problem:
                self.add_error("request_timeout", f"The request timeout {problem}.")
            return cleaned
        # Left as it was (or at the form's initial value): like a timeout an API client did
        # not send, it takes the type's default and follows a lower frequency down.
        stored = None
        if self.instance.pk is not None and self.instance.monitor_type in REGISTRY:
            stored = converted_timeout(
                self.instance.request_timeout, from_type=self.instance.monitor_type, to_type=monitor_type
            )
        cleaned["request_timeout"] = bounded_timeout(monitor_type, stored, frequency)
        return cleaned


@admin.register(Monitor)
class MonitorAdmin(MonitorListColumns, AlertableAdmin):
    form = MonitorForm
    pausing = MONITOR_PAUSING
    list_display = ["__str__", *LIST_COLUMNS, "monitor_type", "check_frequency", "monitor_group", "team"]
    list_filter = ["status", "monitor_type", "monitor_group", "team"]
    search_fields = ["pronounceable_name", "url"]
    list_select_related = ["team", "monitor_group"]
    readonly_fields = [
        # Moved between groups through the API, where the group's pause follows it.
        "monitor_group",
        "status",
        "paused_at",
        "last_checked_at",
        "next_check_at",
        "failing_since",
        "passing_since",
        "created_at",
        "updated_at",
        "public_badge",
    ]
    # The last results are shown by round above the form (console.monitor_page).
    inlines = [RequestHeaderInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "team",
                    "monitor_group",
                    "pronounceable_name",
                    "monitor_type",
                    "url",
                    "port",
                    "status",
                    "paused_at",
                ]
            },
        ),
        (
            "Request",
            {
                "fields": [
                    "http_method",
                    "request_body",
                    "auth_username",
                    "auth_password",
                    "follow_redirects",
                    "max_redirects",
                    "remember_cookies",
                    "verify_ssl",
                    "ip_version",
                    "request_timeout",
                ]
            },
        ),
        (
            "Expectations",
            {"fields": ["expected_status_codes", "required_keyword", "ssl_expiration", "domain_expiration"]},
        ),
        (
            "Schedule and quorum",
            {
                "fields": [
                    "check_frequency",
                    "regions",
                    "quorum",
                    "confirmation_period",
                    "recovery_period",
                    "next_check_at",
                    "last_checked_at",
                    "failing_since",
                    "passing_since",
                ]
            },
        ),
        *ALERTING_FIELDSETS,
        ("Public status badge", {"fields": ["public_badge"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="badge")
    def public_badge(self, monitor: Monitor) -> str:
        return badge_admin_html(monitor)


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnlyAdmin):
    list_display = ["monitor", "scheduled_at", "region", "outcome", "cause", "status_code", "response_time_ms"]
    list_filter = ["outcome", "region"]
    search_fields = ["monitor__pronounceable_name", "monitor__url", "cause"]
    list_select_related = ["monitor"]
    date_hierarchy = "scheduled_at"
    show_full_result_count = False  # COUNT(*) over millions of results is the slow part of the page
    response_time_ms = milliseconds("response_time", "response time")
    name_lookup_time_ms = milliseconds("name_lookup_time", "DNS")
    connection_time_ms = milliseconds("connection_time", "connect")
    tls_handshake_time_ms = milliseconds("tls_handshake_time", "TLS")
    processing_time_ms = milliseconds("processing_time", "first byte")
    data_transfer_time_ms = milliseconds("data_transfer_time", "transfer")
    readonly_fields = [
        "response_time_ms",
        "name_lookup_time_ms",
        "connection_time_ms",
        "tls_handshake_time_ms",
        "processing_time_ms",
        "data_transfer_time_ms",
    ]
    fields = [
        "monitor",
        "scheduled_at",
        "checked_at",
        "region",
        "outcome",
        "cause",
        "status_code",
        *readonly_fields,
        "remote_ip",
        "tls_issuer",
        "tls_expires_at",
        "response_excerpt",
    ]


@admin.register(ResultRollup)
class ResultRollupAdmin(ReadOnlyAdmin):
    list_display = ["monitor", "region", "hour", "checks", "failures", "mean_ms", "p95_ms"]
    list_filter = ["region"]
    list_select_related = ["monitor"]
    mean_ms = milliseconds("mean_response_time", "mean response time")
    p95_ms = milliseconds("p95_response_time", "p95 response time")
    readonly_fields = ["mean_ms", "p95_ms"]
    fields = ["monitor", "region", "hour", "checks", "failures", *readonly_fields]


@admin.register(Round)
class RoundAdmin(ReadOnlyAdmin):
    list_display = [
        "monitor",
        "scheduled_at",
        "region_list",
        "is_confirmation",
        "deadline",
        "closed_at",
        "verdict",
        "note",
    ]
    list_filter = ["verdict", "is_confirmation"]
    search_fields = ["monitor__pronounceable_name", "monitor__url"]
    list_select_related = ["monitor"]
    date_hierarchy = "scheduled_at"
    show_full_result_count = False

    @admin.display(description="regions")
    def region_list(self, round_: Round) -> str:
        return ", ".join(round_.regions or [])


@admin.register(RegionQuarantine)
class RegionQuarantineAdmin(admin.ModelAdmin):
    list_display = ["region", "reason", "started_at", "released_at"]
    list_filter = ["region", "reason"]
    readonly_fields = ["region", "reason", "started_at", "released_at", "details"]
    actions = ["release_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Release selected regions from quarantine")
    def release_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        by = request.user.get_username() or "admin"
        released = sum(quarantine.release(row, now=now, why=f"released by {by}") for row in queryset)
        self.message_user(request, f"Released {released} region(s).")


@admin.register(LoneFailure)
class LoneFailureAdmin(ReadOnlyAdmin):
    list_display = ["region", "target", "monitor", "at"]
    list_filter = ["region"]
    search_fields = ["target"]
    list_select_related = ["monitor"]


@admin.register(DomainRegistration)
class DomainRegistrationAdmin(admin.ModelAdmin):
    """What RDAP last said per domain (monitors.domains); written by the hourly task."""

    list_display = ["domain", "expires_at", "checked_at", "next_lookup_at", "last_error"]
    search_fields = ["domain"]
    readonly_fields = ["domain", "expires_at", "checked_at", "last_error"]


@admin.register(MonitorGroup)
class MonitorGroupAdmin(SourceGroupAdmin):
    members = MONITOR_GROUP_MEMBERS
    member_count_field = "monitors"
