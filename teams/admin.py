from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from teams.models import ApiToken, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "on_call", "phone_number", "created_at"]
    readonly_fields = ["created_at"]


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    can_delete = False
    fields = ["prefix", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "name", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        # Tokens are shown once when created; `manage.py createtoken` is the way to make one.
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "members", "on_call", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline, ApiTokenInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("memberships__user")

    @admin.display(description="members")
    def members(self, team: Team) -> int:
        return len(team.memberships.all())

    @admin.display(description="fallback on call")
    def on_call(self, team: Team) -> str:
        return next((str(m.user) for m in team.memberships.all() if m.on_call), "—")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "on_call", "phone_number"]
    list_filter = ["role", "on_call", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "team", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["team"]
    search_fields = ["prefix", "name", "team__name"]
    readonly_fields = ["team", "prefix", "token_hash", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).")


# On-call calendars, their rotation and override events (issue #13).
from teams import calendar_admin  # noqa: E402,F401
