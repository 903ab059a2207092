"""Public status pages: a team's pages, their sections and resources, and the reports the
team posts on them (incident updates, planned maintenance).

What a resource *is* (up, down, in maintenance) is never stored here: it is computed from
the monitors' and heartbeats' incidents (status.states), so a page cannot disagree with
the alerts it stands for.
"""

import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import Q

from alerts.models import SortedGroup


class PageState(models.TextChoices):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    DOWNTIME = "downtime"
    MAINTENANCE = "maintenance"


class Theme(models.TextChoices):
    LIGHT = "light"
    DARK = "dark"
    SYSTEM = "system"


class Layout(models.TextChoices):
    VERTICAL = "vertical"
    HORIZONTAL = "horizontal"


class StatusPageGroup(SortedGroup):
    """Pages organised together in the admin (``/api/v2/status-page-groups``)."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return self.name or f"status page group #{self.pk}"


class StatusPage(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="status_pages")
    status_page_group = models.ForeignKey(
        StatusPageGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="status_pages"
    )
    company_name = models.CharField(max_length=200)
    company_url = models.URLField(max_length=2048, blank=True)
    contact_url = models.CharField(max_length=2048, blank=True)
    logo_url = models.URLField(max_length=2048, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    subdomain = models.SlugField(max_length=63, unique=True)
    # NULL rather than "" when unset, so that the unique constraint allows many pages without one.
    custom_domain = models.CharField(max_length=253, null=True, blank=True, unique=True)
    announcement = models.TextField(blank=True)
    announcement_embed_visible = models.BooleanField(default=False)
    history = models.PositiveSmallIntegerField(default=90)
    min_incident_length = models.PositiveIntegerField(default=0)
    subscribable = models.BooleanField(default=False)
    password_enabled = models.BooleanField(default=False)
    password_hash = models.CharField(max_length=256, blank=True)
    hide_from_search_engines = models.BooleanField(default=False)
    published = models.BooleanField(default=True)
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.LIGHT)
    layout = models.CharField(max_length=16, choices=Layout.choices, default=Layout.VERTICAL)
    # Opt-in: the regions that saw an automatic incident are named on the page, index.json and feed.
    show_region_names = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(history__gte=7, history__lte=365), name="status_page_history_range"),
        ]

    def __str__(self) -> str:
        return self.company_name or self.subdomain

    def set_password(self, raw: str) -> None:
        self.password_hash = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return bool(self.password_hash) and check_password(raw, self.password_hash)


class StatusPageSection(models.Model):
    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="sections")
    name = models.CharField(max_length=200, blank=True)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name or f"section #{self.pk}"


class ResourceType(models.TextChoices):
    MONITOR = "Monitor"
    HEARTBEAT = "Heartbeat"
    MONITOR_GROUP = "MonitorGroup"
    HEARTBEAT_GROUP = "HeartbeatGroup"


class WidgetType(models.TextChoices):
    PLAIN = "plain"
    HISTORY = "history"
    RESPONSE_TIMES = "response_times"


class StatusPageResource(models.Model):
    """A monitor, heartbeat or group of either shown on a page under a public name.

    The source is generic (type + id) as an incident's is; the API checks that it is the
    team's own, and status.states treats one that has since been deleted as not monitored.
    """

    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="resources")
    section = models.ForeignKey(
        StatusPageSection, null=True, blank=True, on_delete=models.SET_NULL, related_name="resources"
    )
    resource_type = models.CharField(max_length=16, choices=ResourceType.choices)
    resource_id = models.BigIntegerField()
    public_name = models.CharField(max_length=200, blank=True)
    explanation = models.TextField(blank=True)
    position = models.IntegerField(default=0)
    widget_type = models.CharField(max_length=16, choices=WidgetType.choices, default=WidgetType.HISTORY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["resource_type", "resource_id"], name="status_resource_source")]

    def __str__(self) -> str:
        return self.public_name or f"{self.resource_type} #{self.resource_id}"


class ReportType(models.TextChoices):
    MANUAL = "manual"
    MAINTENANCE = "maintenance"


class AffectedState(models.TextChoices):
    """What a report says of a resource it affects."""

    RESOLVED = "resolved"
    DEGRADED = "degraded"
    DOWNTIME = "downtime"
    MAINTENANCE = "maintenance"


class StatusReport(models.Model):
    """A team's own post: an incident it describes (manual) or planned maintenance.

    ``affected_resources`` is ``[{"status_page_resource_id": "<id>", "status": …}]`` as of
    the latest status update; a report is over at ``ends_at`` (or when every affected
    resource is ``resolved``).
    """

    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="reports")
    title = models.CharField(max_length=300)
    report_type = models.CharField(max_length=16, choices=ReportType.choices, default=ReportType.MANUAL)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    affected_resources = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return self.title


class StatusUpdate(models.Model):
    status_report = models.ForeignKey(StatusReport, on_delete=models.CASCADE, related_name="status_updates")
    message = models.TextField()
    published_at = models.DateTimeField()
    affected_resources = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["published_at", "id"]

    def __str__(self) -> str:
        return f"{self.published_at:%Y-%m-%d %H:%M} {self.message[:40]}"


class Subscriber(models.Model):
    """An email address that asked to hear about one page's incidents and reports.

    Double opt-in: a row exists from the sign-up, but only rows with ``confirmed_at`` are
    mailed. ``unsubscribe_token`` is the only thing an unsubscribe link needs (random,
    unguessable, one per row), so a mail client's one-click POST works without a session.
    """

    status_page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="subscribers")
    email = models.EmailField(max_length=254)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One row per address and page: a second sign-up finds the first (race → IntegrityError, caught).
            models.UniqueConstraint(fields=["status_page", "email"], name="status_subscriber_once_per_page"),
        ]

    def __str__(self) -> str:
        return self.email


def new_badge_token() -> str:
    # 18 random bytes = 144 bits, URL-safe: unguessable, short enough for a README line.
    return secrets.token_urlsafe(18)


class Badge(models.Model):
    """The unguessable token of one monitor's or heartbeat's public badge (``/badge/<token>.svg``).

    A row of its own, not a column of the monitor or heartbeat: those rows are rewritten by
    every round and every ping, never as HOT updates (their indexed next_check_at and
    alert_after move), so each index on them costs one more entry per rewrite; a unique
    token index there would be paid on every check to serve the occasional badge.
    """

    token = models.CharField(max_length=64, default=new_badge_token, editable=False)
    # One badge per source: the unique one-to-one indexes settle two admin pages creating it at once.
    monitor = models.OneToOneField(
        "monitors.Monitor", null=True, blank=True, on_delete=models.CASCADE, related_name="badge"
    )
    heartbeat = models.OneToOneField(
        "heartbeats.Heartbeat", null=True, blank=True, on_delete=models.CASCADE, related_name="badge"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A plain unique index: the badge view looks tokens up by equality only.
            models.UniqueConstraint(fields=["token"], name="status_badge_token_unique"),
            models.CheckConstraint(
                condition=Q(monitor__isnull=False, heartbeat__isnull=True)
                | Q(monitor__isnull=True, heartbeat__isnull=False),
                name="status_badge_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"badge of {self.monitor or self.heartbeat}"
