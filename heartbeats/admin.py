from django.contrib import admin

from config.adminkit import pause, resume, status_badge
from heartbeats.models import Heartbeat, Ping


class RecentPingInline(admin.TabularInline):
    model = Ping
    extra = 0
    can_delete = False
    max_num = 0
    fields = ["created_at", "kind", "exit_code", "method", "remote_addr", "user_agent", "duration", "body"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = "recent pings"


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "coloured_status", "last_ping_at", "expectation", "alert_after", "team"]
    list_filter = ["status", "team"]
    search_fields = ["name", "token"]
    list_select_related = ["team"]
    readonly_fields = ["token", "ping_url", "status", "paused_at", "last_ping_at", "last_start_at", "alert_after", "created_at", "updated_at"]
    raw_id_fields = ["policy"]
    inlines = [RecentPingInline]
    actions = [pause, resume]

    @admin.display(description="status", ordering="status")
    def coloured_status(self, heartbeat):
        return status_badge(heartbeat.status)

    @admin.display(description="expected")
    def expectation(self, heartbeat):
        if heartbeat.cron:
            return f"cron {heartbeat.cron} ({heartbeat.timezone}) + {heartbeat.grace} s"
        return f"every {heartbeat.period} s + {heartbeat.grace} s"

    def resume_one(self, heartbeat, *, now):
        # Back to pending: a resumed job is not expected until it pings again.
        Heartbeat.objects.filter(pk=heartbeat.pk, paused_at__isnull=False).update(
            paused_at=None, status="pending", alert_after=None, updated_at=now
        )


@admin.register(Ping)
class PingAdmin(admin.ModelAdmin):
    list_display = ["heartbeat", "created_at", "kind", "exit_code", "method", "remote_addr", "duration"]
    list_filter = ["kind"]
    search_fields = ["heartbeat__name"]
    raw_id_fields = ["heartbeat"]
    list_select_related = ["heartbeat"]
    show_full_result_count = False
