"""The admin of status pages: pages with their sections and resources inline, reports with
their updates inline, and page groups. The password is set through the API (hashed);
the admin shows only whether one is set."""

from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from console.readonly import ReadOnlyAdmin
from status.models import (
    Badge,
    StatusPage,
    StatusPageGroup,
    StatusPageResource,
    StatusPageSection,
    StatusReport,
    StatusUpdate,
    Subscriber,
)


class SectionInline(admin.TabularInline):
    model = StatusPageSection
    extra = 0


class ResourceInline(admin.TabularInline):
    model = StatusPageResource
    extra = 0
    fields = ["section", "resource_type", "resource_id", "public_name", "position", "widget_type"]


class SubscriberInline(admin.TabularInline):
    """A page's subscribers; addresses sign up themselves (double opt-in), so none is added here."""

    model = Subscriber
    extra = 0
    fields = ["email", "confirmed_at", "created_at"]
    readonly_fields = ["email", "confirmed_at", "created_at"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status_page", "confirmed_at", "created_at"]
    list_filter = ["status_page", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
    list_select_related = ["status_page"]
    readonly_fields = ["email", "status_page", "confirmed_at", "unsubscribe_token", "created_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(StatusPage)
class StatusPageAdmin(admin.ModelAdmin):
    list_display = ["company_name", "subdomain", "custom_domain", "published", "team", "public_link"]
    list_filter = ["team", "published", "status_page_group"]
    search_fields = ["company_name", "subdomain", "custom_domain"]
    list_select_related = ["team"]
    exclude = ["password_hash"]
    readonly_fields = ["created_at", "updated_at", "public_link"]
    inlines = [SectionInline, ResourceInline, SubscriberInline]

    @admin.display(description="public page")
    def public_link(self, page: StatusPage) -> Any:
        if not page.pk:
            return "-"
        return format_html('<a href="/status/{}/">/status/{}/</a>', page.subdomain, page.subdomain)


class UpdateInline(admin.StackedInline):
    model = StatusUpdate
    extra = 0


@admin.register(StatusReport)
class StatusReportAdmin(admin.ModelAdmin):
    list_display = ["title", "report_type", "status_page", "starts_at", "ends_at"]
    list_filter = ["report_type", "status_page"]
    search_fields = ["title"]
    inlines = [UpdateInline]


@admin.register(StatusPageGroup)
class StatusPageGroupAdmin(admin.ModelAdmin):
    list_display = ["__str__", "sort_index", "team"]
    list_filter = ["team"]


@admin.register(Badge)
class BadgeAdmin(ReadOnlyAdmin):
    """Every public badge URL handed out. Deleting one revokes its URL (a 404 from then on);
    the monitor's or heartbeat's admin page then shows a new one."""

    list_display = ["__str__", "monitor", "heartbeat", "created_at"]
    list_select_related = ["monitor", "heartbeat"]
    search_fields = ["monitor__pronounceable_name", "heartbeat__name"]
    readonly_fields = ["token", "monitor", "heartbeat", "created_at"]
