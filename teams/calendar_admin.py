"""The admin of on-call calendars: the rotation and override events, edited with members'
email addresses, and this week's schedule as teams.oncall computes it."""

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from teams.models import OnCallCalendar, OnCallEvent, OnCallRotation, new_feed_token
from teams.oncall import EVENT, FALLBACK, ROTATION, Roster, calendar_zone, schedule

SOURCE_LABELS = {EVENT: "override", ROTATION: "rotation", FALLBACK: "fallback"}


class MemberEmailsFormField(forms.CharField):
    """Team members' email addresses, one per line or comma-separated, in order."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})


class UserIdsByEmailForm(forms.ModelForm):
    """Edits ``user_ids`` as the members' email addresses."""

    emails = MemberEmailsFormField(help_text="Team members' email addresses, in order, one per line.")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.user_ids:
            by_id = dict(get_user_model().objects.filter(pk__in=self.instance.user_ids).values_list("pk", "email"))
            self.initial["emails"] = "\n".join(by_id.get(uid, "") for uid in self.instance.user_ids if by_id.get(uid))

    def clean_emails(self) -> list[int]:
        wanted = [e.strip() for e in self.cleaned_data["emails"].replace(",", "\n").splitlines() if e.strip()]
        calendar = getattr(self.instance, "calendar", None) or self.parent_calendar
        members = {
            email.lower(): pk
            for pk, email in get_user_model()
            .objects.filter(memberships__team_id=calendar.team_id)
            .order_by("-id")
            .values_list("pk", "email")
            if email
        }
        missing = [email for email in wanted if email.lower() not in members]
        if missing:
            raise forms.ValidationError(f"Not members of the team: {', '.join(missing)}")
        if not wanted:
            raise forms.ValidationError("Name at least one member.")
        return [members[email.lower()] for email in wanted]

    def save(self, commit: bool = True) -> Any:
        self.instance.user_ids = self.cleaned_data["emails"]
        return super().save(commit)


class RotationForm(UserIdsByEmailForm):
    class Meta:
        model = OnCallRotation
        fields = ["emails", "rotation_length", "rotation_interval", "start_rotations_at", "end_rotations_at"]


class EventForm(UserIdsByEmailForm):
    class Meta:
        model = OnCallEvent
        fields = ["emails", "starts_at", "ends_at"]


class CalendarChildInline(admin.StackedInline):
    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.parent_calendar = obj
        return formset


class RotationInline(CalendarChildInline):
    model = OnCallRotation
    form = RotationForm
    extra = 0
    max_num = 1


class EventInline(CalendarChildInline):
    model = OnCallEvent
    form = EventForm
    extra = 0
    verbose_name = "override event"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Events that are over are history; the schedule above shows what matters.
        return super().get_queryset(request).filter(ends_at__gt=timezone.now() - timedelta(days=1))


@admin.register(OnCallCalendar)
class OnCallCalendarAdmin(admin.ModelAdmin):
    list_display = ["__str__", "team", "is_default", "timezone", "on_call_now"]
    list_filter = ["team", "is_default"]
    search_fields = ["name", "team__name"]
    list_select_related = ["team", "rotation"]
    fields = ["team", "name", "is_default", "timezone", "feed", "this_week"]
    # One default per team (a unique index): it is made on first use, never ticked here.
    readonly_fields = ["is_default", "feed", "this_week"]
    inlines = [RotationInline, EventInline]
    actions = ["reset_feed_url"]

    @admin.display(description="on call now")
    def on_call_now(self, calendar: OnCallCalendar) -> str:
        segments = schedule(calendar, begin=timezone.now(), end=timezone.now() + timedelta(seconds=1))
        if not segments:
            return "— (the whole team)"
        return self._names(segments[0].on_call.user_ids, Roster.of(calendar.team_id))

    @staticmethod
    def _names(user_ids: tuple[int, ...], roster: Roster) -> str:
        users = {m.user_id: m.user for m in roster.memberships}
        return ", ".join(
            users[uid].get_full_name() or users[uid].email or users[uid].get_username() for uid in user_ids
        )

    @admin.display(description="iCalendar feed")
    def feed(self, calendar: OnCallCalendar) -> str:
        if not calendar.pk:
            return "—"
        return format_html('<a href="{0}">{0}</a> (anyone with the link can read it)', calendar.feed_url)

    @admin.display(description="this week")
    def this_week(self, calendar: OnCallCalendar) -> str:
        if not calendar.pk:
            return "—"
        zone = calendar_zone(calendar)
        today = timezone.now().astimezone(zone).date()
        begin = datetime.combine(today, time.min).replace(tzinfo=zone)
        end = datetime.combine(today + timedelta(days=7), time.min).replace(tzinfo=zone)
        roster = Roster.of(calendar.team_id)
        rows = [
            (
                segment.starts_at.astimezone(zone).strftime("%a %d %b %H:%M"),
                segment.ends_at.astimezone(zone).strftime("%a %d %b %H:%M"),
                self._names(segment.on_call.user_ids, roster),
                SOURCE_LABELS.get(segment.on_call.source, segment.on_call.source),
            )
            for segment in schedule(calendar, begin=begin, end=end, roster=roster)
        ]
        if not rows:
            return "Nobody is on call this week: alerts go to the whole team."
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            '<table class="on-call-week"><thead><tr><th>from ({})</th><th>until</th><th>on call</th><th>by</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            calendar.timezone,
            body,
        )

    @admin.action(description="Reset the iCalendar feed URL (the old link stops working)")
    def reset_feed_url(self, request: HttpRequest, queryset: QuerySet) -> None:
        for pk in queryset.values_list("pk", flat=True):
            OnCallCalendar.objects.filter(pk=pk).update(feed_token=new_feed_token())
        self.message_user(request, "New feed URLs are shown on each calendar's page.", messages.SUCCESS)
