from django import forms
from django.conf import settings
from django.contrib import admin
from django.core import signing
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html

from alerts.alertable_admin import ALERTING_FIELDSETS, AlertableAdmin, AlertableForm
from alerts.source_groups_admin import SourceGroupAdmin
from config.adminkit import status_badge
from heartbeats import admin_page
from heartbeats.models import Heartbeat, HeartbeatGroup, Ping
from heartbeats.pausing import HEARTBEAT_PAUSING
from heartbeats.schedule import InvalidSchedule, validate_cron, validate_timezone
from heartbeats.serializers import HEARTBEAT_GROUP_MEMBERS
from status.badges import badge_admin_html
from teams.models import Team

RECENT_PINGS_SHOWN = 25
BODY_PREVIEW_CHARS = 4000


class RecentPingsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # The newest pings only: a heartbeat may keep hundreds, each with a 100 kB body.
        return super().get_queryset().order_by("-id")[:RECENT_PINGS_SHOWN]


class RecentPingInline(admin.TabularInline):
    model = Ping
    formset = RecentPingsFormSet
    extra = 0
    can_delete = False
    max_num = 0
    fields = ["created_at", "kind", "exit_code", "run_duration", "remote_addr", "method", "user_agent", "output"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = f"recent pings (newest {RECENT_PINGS_SHOWN})"

    @admin.display(description="run (start → end)")
    def run_duration(self, ping):
        return "—" if ping.duration is None else f"{ping.duration:.1f} s"

    @admin.display(description="body")
    def output(self, ping):
        if not ping.body:
            return "(cut: over the body limit)" if ping.body_truncated else "—"
        shown = ping.body[:BODY_PREVIEW_CHARS]
        note = " … (cut at the body limit)" if ping.body_truncated else (" …" if len(ping.body) > len(shown) else "")
        return format_html(
            '<pre style="max-height:12em;max-width:60em;overflow:auto;white-space:pre-wrap;margin:0">{}</pre>{}',
            shown,
            note,
        )


# The add form carries the token it shows, signed, so the heartbeat saved is the one whose
# ping URL the operator already copied (a fresh default on POST would answer 404).
NEW_TOKEN_SALT = "heartbeats.admin.new-token"
NEW_TOKEN_MAX_AGE = 24 * 3600


class HeartbeatForm(AlertableForm):
    shown_token = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Heartbeat
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["shown_token"].initial = signing.dumps(self.instance.token, salt=NEW_TOKEN_SALT)

    def clean_shown_token(self):
        signed = self.cleaned_data.get("shown_token") or ""
        if self.instance.pk is not None or not signed:
            return ""  # a change form, or a client without the field: the default token stays
        try:
            token = signing.loads(signed, salt=NEW_TOKEN_SALT, max_age=NEW_TOKEN_MAX_AGE)
        except signing.BadSignature:
            raise forms.ValidationError("This form is too old or was altered; reload it for a new ping URL.") from None
        if Heartbeat.objects.filter(token=token).exists():
            raise forms.ValidationError("This ping URL already belongs to a saved heartbeat; reload the form.")
        # Set now, so that a form shown again with errors still shows the same URL.
        self.instance.token = token
        return signed

    def clean_period(self):
        period = self.cleaned_data.get("period")
        floor = settings.PHAROS_MIN_CHECK_FREQUENCY
        if period is not None and period < floor:
            raise forms.ValidationError(f"The period must be at least {floor} seconds (PHAROS_MIN_CHECK_FREQUENCY).")
        return period

    def clean_cron(self):
        cron = self.cleaned_data.get("cron", "").strip()
        if cron:
            try:
                validate_cron(cron)
            except InvalidSchedule as error:
                raise forms.ValidationError(str(error)) from None
        return cron

    def clean_timezone(self):
        name = self.cleaned_data.get("timezone", "")
        try:
            return validate_timezone(name)
        except InvalidSchedule as error:
            raise forms.ValidationError(str(error)) from None


@admin.register(Heartbeat)
class HeartbeatAdmin(AlertableAdmin):
    form = HeartbeatForm
    pausing = HEARTBEAT_PAUSING
    list_display = ["name", "coloured_status", "last_ping_at", "expectation", "alert_after", "heartbeat_group", "team"]
    list_filter = ["status", "heartbeat_group", "team"]
    search_fields = ["name", "token"]
    list_select_related = ["team", "heartbeat_group"]
    readonly_fields = [
        # Moved between groups through the API, where the group's pause follows it.
        "heartbeat_group",
        "token",
        "ping_url_and_curl",
        "status",
        "expected_next_ping",
        "next_runs",
        "up_and_down",
        "paused_at",
        "last_ping_at",
        "last_start_at",
        "alert_after",
        "created_at",
        "updated_at",
        "public_badge",
    ]
    inlines = [RecentPingInline]
    fieldsets = [
        (None, {"fields": ["team", "heartbeat_group", "name", "ping_url_and_curl", "status", "paused_at"]}),
        ("Last 7 days", {"fields": ["up_and_down"]}),
        (
            "Schedule",
            {
                "fields": [
                    "period",
                    "grace",
                    "cron",
                    "timezone",
                    "expected_next_ping",
                    "next_runs",
                    "last_ping_at",
                    "last_start_at",
                    "alert_after",
                ]
            },
        ),
        *ALERTING_FIELDSETS,
        ("Public status badge", {"fields": ["public_badge"]}),
        (None, {"fields": ["sort_index", "created_at", "updated_at"]}),
    ]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # One team (a fresh install's "My team"): chosen already, not an empty choice.
        teams = list(Team.objects.values_list("pk", flat=True)[:2])
        if len(teams) == 1:
            initial.setdefault("team", teams[0])
        return initial

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        first, *rest = fieldsets
        return [(first[0], {**first[1], "fields": [*first[1]["fields"], "shown_token"]}), *rest]

    @admin.display(description="status", ordering="status")
    def coloured_status(self, heartbeat):
        return status_badge(heartbeat.status)

    @admin.display(description="ping URL")
    def ping_url_and_curl(self, heartbeat):
        return admin_page.ping_url_html(heartbeat)

    @admin.display(description="expected next ping")
    def expected_next_ping(self, heartbeat):
        return admin_page.expected_html(heartbeat) if heartbeat.pk else "—"

    @admin.display(description="next runs (cron, in its zone)")
    def next_runs(self, heartbeat):
        return admin_page.next_runs_html(heartbeat)

    @admin.display(description="up and down")
    def up_and_down(self, heartbeat):
        return admin_page.timeline_svg(heartbeat) if heartbeat.pk else "—"

    @admin.display(description="expected")
    def expectation(self, heartbeat):
        if heartbeat.cron:
            return f"cron {heartbeat.cron} ({heartbeat.timezone}) + {heartbeat.grace} s"
        return f"every {heartbeat.period} s + {heartbeat.grace} s"

    @admin.display(description="badge")
    def public_badge(self, heartbeat: Heartbeat) -> str:
        return badge_admin_html(heartbeat)


@admin.register(Ping)
class PingAdmin(admin.ModelAdmin):
    list_display = [
        "heartbeat",
        "created_at",
        "kind",
        "exit_code",
        "method",
        "remote_addr",
        "duration",
        "body_truncated",
    ]
    list_filter = ["kind"]
    search_fields = ["heartbeat__name"]
    raw_id_fields = ["heartbeat"]
    list_select_related = ["heartbeat"]
    show_full_result_count = False

    # Pings are what a job sent: a record to read, never to add or edit.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HeartbeatGroup)
class HeartbeatGroupAdmin(SourceGroupAdmin):
    members = HEARTBEAT_GROUP_MEMBERS
    member_count_field = "heartbeats"
