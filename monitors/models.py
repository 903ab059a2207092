from django.conf import settings
from django.db import models
from django.db.models import F, Q

from alerts.alertable import AlertableSource
from alerts.source_groups import SourceGroup
from monitors.types import HTTP_METHODS, MONITOR_TYPES


class MonitorStatus(models.TextChoices):
    PENDING = "pending"
    UP = "up"
    DOWN = "down"
    VALIDATING = "validating"
    PAUSED = "paused"
    MAINTENANCE = "maintenance"


class MonitorGroup(SourceGroup):
    """Monitors organised together; pausing the group pauses them (alerts.source_groups)."""

    class Meta(SourceGroup.Meta):
        indexes = [models.Index(fields=["team", "id"], name="monitor_group_team")]


class Monitor(AlertableSource):
    """A target Pharos reaches out to, from every one of its regions, each round.

    Attribute names follow docs/api.md (Better Stack's Uptime API) so the serializer is thin;
    the alerting, maintenance and pause fields are alerts.alertable's.
    """

    # How many one team may have (teams.limits).
    team_limit_setting = "PHAROS_TEAM_MAX_MONITORS"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="monitors")
    url = models.CharField(max_length=2048)
    pronounceable_name = models.CharField(max_length=200, blank=True)
    monitor_type = models.CharField(max_length=32, choices=[(t, t) for t in MONITOR_TYPES], default="status")
    expected_status_codes = models.JSONField(default=list, blank=True)
    required_keyword = models.CharField(max_length=500, blank=True)
    http_method = models.CharField(max_length=8, choices=[(m, m) for m in HTTP_METHODS], default="get")
    request_body = models.TextField(blank=True)
    auth_username = models.CharField(max_length=200, blank=True)
    auth_password = models.CharField(max_length=200, blank=True)
    follow_redirects = models.BooleanField(default=True)
    max_redirects = models.PositiveSmallIntegerField(default=10)
    remember_cookies = models.BooleanField(default=True)
    verify_ssl = models.BooleanField(default=True)
    ip_version = models.CharField(
        max_length=4, blank=True, choices=[("", "any"), ("ipv4", "IPv4"), ("ipv6", "IPv6")], default=""
    )
    port = models.CharField(max_length=200, blank=True)
    check_frequency = models.PositiveIntegerField(default=180)
    request_timeout = models.PositiveIntegerField(default=30)
    regions = models.JSONField(default=list, blank=True)
    quorum = models.PositiveSmallIntegerField(null=True, blank=True)
    confirmation_period = models.PositiveIntegerField(default=0)
    recovery_period = models.PositiveIntegerField(default=180)
    ssl_expiration = models.PositiveSmallIntegerField(null=True, blank=True)
    domain_expiration = models.PositiveSmallIntegerField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=MonitorStatus.choices, default=MonitorStatus.PENDING)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # Scheduling: the tick claims rows whose next_check_at has passed (indexed below).
    next_check_at = models.DateTimeField(null=True, blank=True)
    # State machine: when the current run of DOWN / UP verdicts began.
    failing_since = models.DateTimeField(null=True, blank=True)
    passing_since = models.DateTimeField(null=True, blank=True)
    # The newest round the state machine has applied: a round closed late (its deadline
    # passed after a newer round closed) must not drag the monitor back in time.
    verdict_round_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # No index of its own: the tick rewrites every monitor row each round, and each index
    # is one more entry per rewrite. A group's members are found through monitor_team
    # (team, id) filtered by group, which is what the group endpoints and pauses ask.
    monitor_group = models.ForeignKey(
        MonitorGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="monitors", db_index=False
    )

    class Meta(AlertableSource.Meta):
        ordering = ["id"]
        constraints = [
            *AlertableSource.Meta.constraints,
            models.CheckConstraint(condition=Q(check_frequency__gt=0), name="monitor_check_frequency_positive"),
            models.CheckConstraint(condition=Q(request_timeout__gt=0), name="monitor_request_timeout_positive"),
            models.CheckConstraint(
                condition=Q(confirmation_period__gte=0), name="monitor_confirmation_period_not_negative"
            ),
            models.CheckConstraint(condition=Q(recovery_period__gte=0), name="monitor_recovery_period_not_negative"),
            models.CheckConstraint(condition=Q(quorum__isnull=True) | Q(quorum__gt=0), name="monitor_quorum_positive"),
        ]
        indexes = [
            # The tick's claim: only active monitors, ordered by due time. A partial index
            # keeps paused monitors (often thousands) out of every tick's scan.
            models.Index(fields=["next_check_at"], condition=Q(paused_at__isnull=True), name="monitor_due"),
            models.Index(fields=["team", "id"], name="monitor_team"),
        ]

    def __str__(self) -> str:
        return self.pronounceable_name or self.url

    @property
    def effective_regions(self) -> list[str]:
        return regions_or_all(self.regions)

    @property
    def effective_quorum(self) -> int:
        """Regions that must see DOWN in one round; a majority unless overridden."""
        # Imported here: monitors.verdicts imports this module (RoundVerdict).
        from monitors.verdicts import quorum_of

        return quorum_of(self.effective_regions, self.quorum)


def regions_or_all(regions: list[str]) -> list[str]:
    """The regions a monitor is checked from: its own list, or every region when empty."""
    return list(regions) or list(settings.PHAROS_REGIONS)


class MonitorRequestHeader(models.Model):
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="request_headers")
    name = models.CharField(max_length=200)
    value = models.CharField(max_length=4000, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class CheckOutcome(models.TextChoices):
    UP = "up"
    DOWN = "down"
    ERROR = "error"


class CheckResult(models.Model):
    """One region's answer for one round ``(monitor, scheduled_at)``. Kept for
    ``PHAROS_RESULT_RETENTION``; hourly rollups outlive it."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="results")
    scheduled_at = models.DateTimeField()
    region = models.CharField(max_length=32)
    outcome = models.CharField(max_length=8, choices=CheckOutcome.choices)
    cause = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_time = models.FloatField(null=True, blank=True)
    name_lookup_time = models.FloatField(null=True, blank=True)
    connection_time = models.FloatField(null=True, blank=True)
    tls_handshake_time = models.FloatField(null=True, blank=True)
    processing_time = models.FloatField(null=True, blank=True)
    data_transfer_time = models.FloatField(null=True, blank=True)
    remote_ip = models.CharField(max_length=45, blank=True)
    tls_expires_at = models.DateTimeField(null=True, blank=True)
    tls_issuer = models.CharField(max_length=300, blank=True)
    response_excerpt = models.TextField(blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            # A redelivered batch must not count a region's vote twice.
            models.UniqueConstraint(
                fields=["monitor", "scheduled_at", "region"], name="check_result_one_vote_per_region"
            ),
        ]
        indexes = [
            models.Index(fields=["checked_at"], name="check_result_checked_at"),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.region} {self.scheduled_at:%H:%M:%S} {self.outcome}"


class ResultRollup(models.Model):
    """Hourly summary per monitor and region, kept after raw results are pruned."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="rollups")
    region = models.CharField(max_length=32)
    hour = models.DateTimeField()
    checks = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    mean_response_time = models.FloatField(null=True, blank=True)
    p95_response_time = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["monitor", "region", "hour"], name="rollup_one_per_monitor_region_hour"),
            models.CheckConstraint(condition=Q(failures__lte=F("checks")), name="rollup_failures_within_checks"),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.region} {self.hour:%Y-%m-%d %H:00}"


class RoundVerdict(models.TextChoices):
    UP = "up"
    DOWN = "down"
    INCONCLUSIVE = "inconclusive"


class Round(models.Model):
    """One scheduled check of one monitor from all of its regions.

    The scheduler writes the row in the transaction that advances ``next_check_at``; the
    aggregator closes it (all regions answered) or ``close_overdue_rounds`` does (deadline
    passed). Closing is claimed with ``UPDATE … WHERE closed_at IS NULL`` so two
    aggregators never apply one round twice.
    """

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="rounds")
    scheduled_at = models.DateTimeField()
    regions = models.JSONField(default=list)
    dispatched_at = models.DateTimeField()
    deadline = models.DateTimeField()
    is_confirmation = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=RoundVerdict.choices, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            # Two ticks racing on one monitor cannot both record (and dispatch) the round.
            models.UniqueConstraint(fields=["monitor", "scheduled_at"], name="round_one_per_monitor_time"),
        ]
        indexes = [
            # close_overdue_rounds scans only open rounds, by deadline.
            models.Index(fields=["deadline"], condition=Q(closed_at__isnull=True), name="round_open_deadline"),
            models.Index(fields=["dispatched_at"], name="round_dispatched_at"),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id}@{self.scheduled_at:%H:%M:%S} {self.verdict or 'open'}"


class RegionQuarantine(models.Model):
    """A region whose own network is broken: while active its DOWN votes count as errors."""

    class Reason(models.TextChoices):
        CANARY = "canary"
        LONE_FAILURES = "lone_failures"

    region = models.CharField(max_length=32)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    started_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # Two aggregators noticing the same broken region open one quarantine.
            models.UniqueConstraint(
                fields=["region"], condition=Q(released_at__isnull=True), name="quarantine_one_active_per_region"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} ({self.reason})"


class LoneFailure(models.Model):
    """A closed round in which one region alone saw DOWN while the others reached the target.

    Many distinct targets failing from one region in a short window means the region is
    the thing that is broken (monitors.quarantine). Pruned by housekeeping.
    """

    region = models.CharField(max_length=32)
    target = models.CharField(max_length=255)  # host of the monitor's URL
    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["region", "at"], name="lone_failure_region_at")]

    def __str__(self) -> str:
        return f"{self.region} {self.target}"


class DomainRegistration(models.Model):
    """What RDAP last said about one registrable domain, shared by every monitor on it.

    A registration is the same from every region and changes rarely, so it is looked up
    centrally (monitors.domains) at most once per ``LOOKUP_INTERVAL``, not per round.
    """

    domain = models.CharField(max_length=253, unique=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: RDAP gave no expiration
    # The last lookup that got an answer (a 404 is an answer); failures leave it alone.
    checked_at = models.DateTimeField(null=True, blank=True)
    # Claimed with a conditional UPDATE before the lookup, so two runs never look one
    # domain up twice; a failure puts it back to "now" so the next run retries.
    next_lookup_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
