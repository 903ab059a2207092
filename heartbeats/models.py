import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts.alertable import AlertableSource
from alerts.source_groups import SourceGroup


def new_heartbeat_token():
    # 24 random bytes = 192 bits, URL-safe: unguessable, and short enough for a crontab line.
    return secrets.token_urlsafe(24)


class HeartbeatStatus(models.TextChoices):
    PENDING = "pending"
    UP = "up"
    DOWN = "down"
    PAUSED = "paused"
    MAINTENANCE = "maintenance"


class HeartbeatGroup(SourceGroup):
    """Heartbeats organised together; pausing the group pauses them (alerts.source_groups)."""

    class Meta(SourceGroup.Meta):
        indexes = [models.Index(fields=["team", "id"], name="heartbeat_group_team")]


class Heartbeat(AlertableSource):
    """A job that checks in with Pharos; it is down when its ping does not come in time.

    The alerting, maintenance and pause fields are alerts.alertable's."""

    # How many one team may have (teams.limits).
    team_limit_setting = "PHAROS_TEAM_MAX_HEARTBEATS"

    # Every ping rewrites this row and alert_after is indexed, so each ping writes a new
    # entry into every index of the table: keep no index that another one already covers.
    # heartbeat_team (team, id) serves the foreign key; the token's uniqueness is a plain
    # UniqueConstraint, which spares the varchar_pattern_ops twin Django adds to unique=True.
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="heartbeats", db_index=False)
    name = models.CharField(max_length=200)
    token = models.CharField(max_length=64, default=new_heartbeat_token, editable=False)
    period = models.PositiveIntegerField(default=3600)
    grace = models.PositiveIntegerField(default=300)
    # Pharos addition: a calendar instead of a fixed period (evaluated in `timezone`).
    cron = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")

    # No index: every ping rewrites this row and alert_after's index keeps those updates from
    # being HOT, so each index here is one more write per ping. A group's heartbeats are
    # found through heartbeat_team (team, id) filtered by group.
    heartbeat_group = models.ForeignKey(
        HeartbeatGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="heartbeats", db_index=False
    )
    sort_index = models.IntegerField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=HeartbeatStatus.choices, default=HeartbeatStatus.PENDING)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    # Set by /start, cleared by the run's success or failure ping.
    last_start_at = models.DateTimeField(null=True, blank=True)
    # When the heartbeat goes down unless a ping arrives first; precomputed on every ping
    # so the sweep is one index range scan instead of a computation over every row.
    alert_after = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(AlertableSource.Meta):
        ordering = ["id"]
        constraints = [
            *AlertableSource.Meta.constraints,
            models.CheckConstraint(condition=Q(period__gt=0), name="heartbeat_period_positive"),
            models.CheckConstraint(condition=Q(grace__gte=0), name="heartbeat_grace_not_negative"),
            models.UniqueConstraint(fields=["token"], name="heartbeat_token_unique"),
        ]
        indexes = [
            # "What is overdue": only heartbeats that can still go down are in the index,
            # so the sweep never scans down, paused or pending rows.
            models.Index(
                fields=["alert_after"],
                condition=Q(status="up", paused_at__isnull=True),
                name="heartbeat_overdue",
            ),
            models.Index(fields=["team", "id"], name="heartbeat_team"),
        ]

    def __str__(self):
        return self.name

    @property
    def ping_url(self):
        return f"{settings.PHAROS_BASE_URL}/api/v1/heartbeat/{self.token}"


class PingKind(models.TextChoices):
    SUCCESS = "success"
    FAIL = "fail"
    START = "start"


class Ping(models.Model):
    # ping_heartbeat_recent (heartbeat, -id) serves the foreign key: one index less per ping.
    heartbeat = models.ForeignKey(Heartbeat, on_delete=models.CASCADE, related_name="pings", db_index=False)
    created_at = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=PingKind.choices)
    exit_code = models.PositiveSmallIntegerField(null=True, blank=True)
    method = models.CharField(max_length=8)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    body_truncated = models.BooleanField(default=False)
    # Seconds since the matching /start, when there was one.
    duration = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(exit_code__isnull=True) | Q(exit_code__gte=0, exit_code__lte=255),
                name="ping_exit_code_in_range",
            ),
        ]
        indexes = [
            # Recent pings of one heartbeat (admin inline, pruning): newest first by id.
            models.Index(fields=["heartbeat", "-id"], name="ping_heartbeat_recent"),
        ]

    def __str__(self):
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M:%S}"
