"""The alerting settings every incident source carries, declared once.

``AlertingSettings`` is who to wake and how (Better Stack's ``call``, ``sms``, ``email``,
``push``, ``critical_alert``, ``team_wait`` and the escalation ``policy``): a monitor and a
heartbeat configure it, and an incident keeps a copy of it as it was when it opened, so
that editing the source later does not change who an open incident pages.

``AlertableSource`` adds what makes a source quiet for a while: its weekly maintenance
window and its pause (``paused_at``, and ``paused_with_group`` when the pause is its
group's, see alerts.source_groups). Monitors and heartbeats inherit it; the serializer
side is config.jsonapi.alertable, the pause and resume rule is alerts.pausing.

The column names are Better Stack's and stay as they were before this base class
existed, so inheriting it changed no table.
"""

from typing import Any

from django.db import models
from django.db.models import Q

# The channels a page goes out over (Better Stack's flags): a source's alerting settings
# and an urgency (alerts.models.Urgency) both carry them.
PAGING_FLAGS = ("call", "sms", "email", "push", "critical_alert")
# The alerting attributes in API order, as the incident and the outbox read them
# (``policy_id``: the foreign key's column, so reading it costs no query).
ALERTING_FIELDS = ("call", "sms", "email", "push", "critical_alert", "team_wait", "policy_id")
MAINTENANCE_FIELDS = ("maintenance_days", "maintenance_from", "maintenance_to", "maintenance_timezone")


class PagingFlags(models.Model):
    call = models.BooleanField(default=False)
    sms = models.BooleanField(default=False)
    email = models.BooleanField(default=True)
    push = models.BooleanField(default=False)
    critical_alert = models.BooleanField(default=False)

    class Meta:
        abstract = True


class AlertingSettings(PagingFlags):
    team_wait = models.PositiveIntegerField(null=True, blank=True)
    policy = models.ForeignKey("alerts.EscalationPolicy", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        abstract = True

    def alerting_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ALERTING_FIELDS}


class AlertableSource(AlertingSettings):
    """A monitor or a heartbeat: it opens incidents, unless paused or in maintenance."""

    maintenance_days = models.JSONField(default=list, blank=True)  # ["mon", "tue", …]
    maintenance_from = models.TimeField(null=True, blank=True)
    maintenance_to = models.TimeField(null=True, blank=True)
    maintenance_timezone = models.CharField(max_length=64, default="UTC")

    paused_at = models.DateTimeField(null=True, blank=True)
    # paused_at was set by the group's pause, not by the source's own (alerts.source_groups).
    paused_with_group = models.BooleanField(default=False)

    class Meta:
        abstract = True
        constraints = [
            # %(class)s keeps the names the tables already have: monitor_…, heartbeat_….
            models.CheckConstraint(
                condition=Q(team_wait__isnull=True) | Q(team_wait__gte=0), name="%(class)s_team_wait_not_negative"
            ),
        ]

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


def alertable_values(values: dict[str, Any]) -> tuple[Any, Any]:
    """(MaintenanceWindow, Alerting) of a source read as a row of column values, for the
    hot paths that read rows rather than models (heartbeats.ping, heartbeats.sweep)."""
    from types import SimpleNamespace

    from alerts.incidents import Alerting
    from alerts.maintenance import MaintenanceWindow

    source = SimpleNamespace(**values)
    return MaintenanceWindow.of(source), Alerting.of(source)
