import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from alerts.alertable import AlertingSettings, PagingFlags


def new_incident_token():
    # 144 random bits, URL- and header-safe: the only secret a POST /api/v3/incidents with
    # this token needs (alerts.incident_tokens).
    return secrets.token_urlsafe(18)


class SortedGroup(models.Model):
    """A team's named set of things in the order its ``sort_index`` gives (Better Stack's
    policy groups and status page groups share this shape); each child adds its ``team``."""

    name = models.CharField(max_length=200, blank=True)
    sort_index = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = [models.F("sort_index").asc(nulls_last=True), "id"]


class PolicyGroup(SortedGroup):
    """Escalation policies organised together (``/api/v2/policy-groups``)."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="policy_groups")

    def __str__(self):
        return self.name or f"policy group #{self.pk}"


class Urgency(PagingFlags):
    """A named way of paging people (Better Stack's severities): the channels a policy step
    with this ``urgency_id`` uses instead of the incident's own flags."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="urgencies")
    name = models.CharField(max_length=200)
    # An urgency pages phones by default; a source's own flags leave push off.
    push = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "urgencies"

    def __str__(self):
        return self.name


class EscalationPolicy(models.Model):
    """Ordered escalation steps (docs/api.md ``/api/v3/policies``).

    ``steps`` keeps the API's own shape — ``[{"type": "escalation", "wait_before": s,
    "step_members": [{"type": …, "id": …}]}]`` — validated by the policy serializer.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=200)
    repeat_count = models.PositiveIntegerField(default=0)
    repeat_delay = models.PositiveIntegerField(default=0)
    steps = models.JSONField(default=list, blank=True)
    policy_group = models.ForeignKey(
        PolicyGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="policies"
    )
    incident_token = models.CharField(max_length=64, default=new_incident_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [models.UniqueConstraint(fields=["incident_token"], name="policy_incident_token_unique")]

    def __str__(self):
        return self.name


class IncidentSource(models.TextChoices):
    MONITOR = "monitor"
    HEARTBEAT = "heartbeat"
    MANUAL = "manual"


class IncidentStatus(models.TextChoices):
    STARTED = "Started"
    ACKNOWLEDGED = "Acknowledged"
    VALIDATING = "Validating"
    RESOLVED = "Resolved"


class IncidentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def not_deleted(self):
        return self.filter(deleted_at__isnull=True)

    def for_source(self, source_type, source_id, *, kind=None):
        rows = self.filter(source_type=source_type, source_id=source_id)
        return rows if kind is None else rows.filter(kind=kind)


class IncidentKind(models.TextChoices):
    """What an incident is about; each kind of a source has its own open-incident slot."""

    OUTAGE = "outage"  # the source fails its check (a monitor's round, a heartbeat's ping)
    CERTIFICATE = "certificate"  # a monitor's TLS certificate expires within ssl_expiration
    DOMAIN = "domain"  # a monitor's domain registration expires within domain_expiration
    MANUAL = "manual"  # a person or another system reported it (POST /api/v3/incidents)


class Incident(AlertingSettings):
    """An incident of one source: a monitor, a heartbeat, or a person (manual).

    The source is generic (type + id) so that alerts knows nothing of monitors or
    heartbeats. At most one incident per source and kind is open, which the database
    enforces: a monitor's outage and its domain warning are open side by side, never two
    outages. The alerting fields are a copy of the source's as they were at the opening.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="incidents")
    source_type = models.CharField(max_length=16, choices=IncidentSource.choices)
    source_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=16, choices=IncidentKind.choices, default=IncidentKind.OUTAGE)
    name = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True)
    url = models.CharField(max_length=2048, blank=True)
    http_method = models.CharField(max_length=8, blank=True)
    cause = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.STARTED)
    regions = models.JSONField(default=list, blank=True)
    response_content = models.TextField(blank=True)
    response_options = models.JSONField(default=dict, blank=True)
    ssl_certificate_expires_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    requester_email = models.EmailField(blank=True)
    started_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=254, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=254, blank=True)
    # Deleted through the API: gone from the API and from availability figures, but the row
    # stays until its recovery notifications have gone out (alerts.incident_removal).
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Escalation found no member or channel to alert (alerts.reached_nobody): the incident
    # paged nobody, which the console must not let pass for one that paged someone.
    reached_nobody = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One outage, one incident: a second opener of the same kind (another
            # aggregator, sweeper or domain run) hits this index and backs off instead of
            # paging twice. Other kinds have their own slot (an outage never waits for a
            # domain warning to make room).
            models.UniqueConstraint(
                fields=["source_type", "source_id", "kind"],
                condition=Q(resolved_at__isnull=True, source_id__isnull=False),
                name="incident_one_open_per_source_and_kind",
            ),
            models.CheckConstraint(
                condition=Q(source_type="manual") | Q(source_id__isnull=False),
                name="incident_source_has_id",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(status="Resolved"),
                name="incident_resolved_status_matches",
            ),
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | Q(resolved_at__isnull=False),
                name="incident_deleted_is_resolved",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "-started_at"], name="incident_team_started"),
            models.Index(fields=["source_type", "source_id", "-started_at"], name="incident_source_started"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.name or self.cause}"

    @property
    def is_open(self):
        return self.resolved_at is None


class IncidentEvent(models.Model):
    """The incident's timeline: what happened, when, and who did it."""

    class Kind(models.TextChoices):
        STARTED = "started"
        ACKNOWLEDGED = "acknowledged"
        VALIDATING = "validating"
        FAILING = "failing"  # failed again while validating
        RESOLVED = "resolved"
        NOTIFIED = "notified"
        ESCALATED = "escalated"
        COMMENT = "comment"
        DELETED = "deleted"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.TextField(blank=True)
    actor = models.CharField(max_length=254, blank=True)
    # A comment's author when a person wrote it (the admin); API comments name the token in actor.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}"


class OperatorEvent(models.Model):
    """Signals about Pharos itself (inconclusive rounds, quarantined regions): never paged."""

    class Kind(models.TextChoices):
        INCONCLUSIVE_ROUND = "inconclusive_round"
        REGION_QUARANTINED = "region_quarantined"
        REGION_RELEASED = "region_released"

    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    region = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.region}"


class ChannelKind(models.TextChoices):
    """Every way Pharos can deliver a notification; alerts.channels holds one handler each.

    ``email``, ``sms`` and ``call`` reach a person (a team member's address or phone) and
    also exist as team channels (a shared mailbox, a duty phone); the others are
    integrations configured by the team.
    """

    EMAIL = "email"
    SMS = "sms"
    CALL = "call"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    PAGERDUTY = "pagerduty"
    TELEGRAM = "telegram"
    NTFY = "ntfy"


class Channel(models.Model):
    """A destination a team configured: a webhook, a Slack room, a PagerDuty service, …

    ``config`` holds what may be shown back (a URL without credentials, a chat id, custom
    headers); ``secrets`` holds what may only be written (signing secrets, bot tokens,
    webhook URLs that embed a token). No API or admin page ever returns ``secrets``.
    A channel with a ``user`` is that person's own (their ntfy topic, their Telegram chat):
    the simple ``push`` flag reaches the on-call member through it.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="channels")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_channels"
    )
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=200, blank=True)
    config = models.JSONField(default=dict, blank=True)
    secrets = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["team", "kind"], name="channel_team_kind")]

    def __str__(self):
        return self.name or f"{self.get_kind_display()} #{self.pk}"


class NotificationEvent(models.TextChoices):
    ALERT = "alert"
    ACKNOWLEDGED = "acknowledged"
    RECOVERY = "recovery"
    # A status page's report (status.report_mail): posted or announced, a status update,
    # a maintenance window opening, the report over.
    REPORTED = "reported"
    UPDATED = "updated"
    STARTED = "started"
    ENDED = "ended"


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # The incident was acknowledged or resolved before an alert went out: nobody needs it.
    SKIPPED = "skipped"


# Rows addressed to the team (its members and channels), as opposed to people outside it
# that another app writes rows for (a status page's subscribers, "subscriber:<id>"):
# escalation, recoveries and "reached nobody" only ever look at the team's.
TEAM_RECIPIENTS = Q(recipient__startswith="user:") | Q(recipient__startswith="channel:")


class Notification(models.Model):
    """One message to one recipient over one kind, written in the transition's transaction.

    A row is about an incident, or about a status page's report (its subscribers' mail,
    status.report_mail): exactly one of the two is set (CHECK). The unique constraints
    (incident or report, step, recipient, kind) make writing idempotent: an escalation
    tick that runs twice, or a redelivered task, cannot page anyone twice. Delivery claims
    a row with a conditional UPDATE (pending → sending) before it sends.
    """

    incident = models.ForeignKey(
        "alerts.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # A deleted report takes its unsent mail with it, as a deleted incident does.
    status_report = models.ForeignKey(
        "status.StatusReport", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=16, choices=NotificationEvent.choices)
    # "on-call", "team", "step-1", "step-2/repeat-1", "acknowledged", "recovery"; a report's
    # "reported", "started", "update-<id>", "ended".
    step = models.CharField(max_length=32)
    # "user:<id>" or "channel:<id>": who, independent of how.
    recipient = models.CharField(max_length=40)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    # The email address or phone number a person was reached at, frozen when the row was
    # written so that the recovery goes where the alert went.
    address = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Pending: when the next attempt is due. Sending: when the worker's claim expires, so
    # a worker killed mid-send leaves its row to the sweeper instead of losing it.
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "step", "recipient", "kind"], name="notification_once_per_step_recipient_kind"
            ),
            # NULL incidents are distinct to the constraint above: report rows need their own.
            models.UniqueConstraint(
                fields=["status_report", "step", "recipient", "kind"],
                condition=Q(status_report__isnull=False),
                name="notification_once_per_report_step_recipient_kind",
            ),
            models.CheckConstraint(
                condition=Q(incident__isnull=False, status_report__isnull=True)
                | Q(incident__isnull=True, status_report__isnull=False),
                name="notification_about_an_incident_or_a_report",
            ),
        ]
        indexes = [
            # The sweeper's scan: only rows still owed a delivery are indexed, so millions
            # of delivered rows never slow the 5-second tick.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="notification_undelivered",
            ),
        ]

    def __str__(self):
        return f"{self.kind} to {self.recipient} ({self.event}, {self.step})"


class Escalation(models.Model):
    """Where an incident's escalation stands: the next step and when it falls due.

    ``due_at`` is cleared when the incident is acknowledged or resolved, or when no step
    is left; the tick reads only rows with a due time (partial index) and locks each with
    SKIP LOCKED, so two ticks never send one step twice.
    """

    incident = models.OneToOneField(
        "alerts.Incident", primary_key=True, on_delete=models.CASCADE, related_name="escalation"
    )
    next_step = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], condition=Q(due_at__isnull=False), name="escalation_due"),
        ]

    def __str__(self):
        return f"incident {self.incident_id} step {self.next_step} due {self.due_at}"


class ReachedNobodyNotice(models.Model):
    """The operators' one mail about a team whose incidents reach nobody (alerts.reached_nobody).

    One row per team, ever: inserting it is the claim that the team's operators will be
    told, written in the escalation's transaction; ``told_at`` is set once the mail went out.
    Until then ``next_attempt_at`` is the lease of the worker sending it, so two workers
    (or the task and the sweep) never both send.
    """

    team = models.OneToOneField(
        "teams.Team", primary_key=True, on_delete=models.CASCADE, related_name="reached_nobody_notice"
    )
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(told_at__isnull=True), name="notice_untold"),
        ]

    def __str__(self):
        return f"team {self.team_id}: " + ("told" if self.told_at else "not told yet")
