"""The admin of monitor groups and heartbeat groups: pausing here follows alerts.source_groups."""

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from alerts.source_groups import GroupMembers, set_group_paused


class SourceGroupAdmin(admin.ModelAdmin):
    members: GroupMembers
    member_count_field: str

    list_display = ["__str__", "paused", "member_count", "sort_index", "team", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name"]
    list_select_related = ["team"]
    readonly_fields = ["paused_at", "created_at", "updated_at"]
    fields = ["team", "name", "sort_index", "paused_at", "created_at", "updated_at"]
    actions = ["pause_groups", "resume_groups"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(member_total=Count(self.member_count_field))

    @admin.display(description="paused", boolean=True, ordering="paused_at")
    def paused(self, group: Any) -> bool:
        return group.paused_at is not None

    @admin.display(description="members", ordering="member_total")
    def member_count(self, group: Any) -> int:
        return group.member_total

    def _set_paused(self, request: HttpRequest, queryset: QuerySet, paused: bool) -> None:
        now, changed = timezone.now(), 0
        for pk in queryset.values_list("pk", flat=True):
            with transaction.atomic():
                group = self.model.objects.select_for_update().filter(pk=pk).first()
                if group is not None:
                    changed += set_group_paused(group, self.members, paused, now=now)
        verb = "Paused" if paused else "Resumed"
        self.message_user(request, f"{verb} {changed} group(s) and their members.", messages.SUCCESS)

    @admin.action(description="Pause selected groups (and their members)")
    def pause_groups(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_paused(request, queryset, True)

    @admin.action(description="Resume selected groups (and the members they paused)")
    def resume_groups(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_paused(request, queryset, False)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            self.members.release(obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic():
            for group in queryset:
                self.members.release(group)
            super().delete_queryset(request, queryset)
