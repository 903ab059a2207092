"""Is Pharos's own pipeline keeping up? Plain figures from the database, and the checks
the health report, the metrics page and the watchdog build on them.

A monitoring system's one unforgivable failure is going blind without saying so. Each
part that can fall behind leaves a trace in rows Pharos keeps anyway, read through an
index that already exists:

- the scheduler: the oldest active monitor whose ``next_check_at`` passed and that no
  tick claimed (``monitor_due``) — beat stopped, or ticks running late;
- the heartbeat sweep: the oldest heartbeat that is still up although its
  ``alert_after`` passed (``heartbeat_overdue``);
- alert delivery: notifications due and still undelivered (``notification_undelivered``);
- rounds: the share of rounds dispatched lately that closed inconclusive — too few
  regions answered — leaving out the rounds of monitors paused meanwhile.

Each ``*_figures`` function returns plain numbers (a later /metrics on prometheus_client
reuses them); each ``check_*`` turns them into ``{"ok", "detail", …}`` with a threshold
from the environment (``PHAROS_WATCH_*``, see README.md). Nothing to judge (no monitors,
no heartbeats) is healthy.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q

RECENT_ROUNDS_WINDOW = 300  # seconds of dispatched rounds the inconclusive share looks at
MIN_ROUNDS = 10  # fewer closed rounds than this say nothing about a share


def _age(moment: datetime | None, *, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment else 0.0


def scheduler_lag(*, now: datetime) -> float:
    """Seconds the most overdue active monitor has waited to be dispatched (0: none waits)."""
    from monitors.models import Monitor

    oldest = Monitor.objects.filter(paused_at__isnull=True, next_check_at__lte=now).aggregate(
        oldest=Min("next_check_at")
    )["oldest"]
    return _age(oldest, now=now)


def sweep_lag(*, now: datetime) -> float:
    """Seconds the most overdue heartbeat has stayed up past its ``alert_after``."""
    from heartbeats.models import Heartbeat, HeartbeatStatus

    oldest = Heartbeat.objects.filter(
        status=HeartbeatStatus.UP, paused_at__isnull=True, alert_after__lte=now
    ).aggregate(oldest=Min("alert_after"))["oldest"]
    return _age(oldest, now=now)


@dataclass(frozen=True)
class DeliveryFigures:
    backlog: int  # notifications due and not delivered
    lag: float  # seconds the oldest of them has been due


def delivery_figures(*, now: datetime) -> DeliveryFigures:
    from alerts.models import Notification, NotificationStatus

    due = Notification.objects.filter(
        status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING], next_attempt_at__lte=now
    ).aggregate(backlog=Count("id"), oldest=Min("next_attempt_at"))
    return DeliveryFigures(backlog=due["backlog"], lag=_age(due["oldest"], now=now))


@dataclass(frozen=True)
class RoundFigures:
    closed: int  # rounds dispatched in the window and closed since
    inconclusive: int  # of them, closed without enough answers

    @property
    def inconclusive_ratio(self) -> float:
        return self.inconclusive / self.closed if self.closed else 0.0


def round_figures(*, now: datetime, window: float = RECENT_ROUNDS_WINDOW) -> RoundFigures:
    from monitors.models import Round, RoundVerdict
    from monitors.withdrawal import WITHDRAWN_NOTE

    counts = (
        Round.objects.filter(dispatched_at__gte=now - timedelta(seconds=window), closed_at__isnull=False)
        .exclude(note=WITHDRAWN_NOTE)
        .aggregate(closed=Count("id"), inconclusive=Count("id", filter=Q(verdict=RoundVerdict.INCONCLUSIVE)))
    )
    return RoundFigures(closed=counts["closed"], inconclusive=counts["inconclusive"])


# --- checks -------------------------------------------------------------------------------


def check_scheduler(*, now: datetime) -> dict:
    lag, limit = scheduler_lag(now=now), settings.PHAROS_WATCH_SCHEDULER_LAG
    detail = f"the most overdue monitor has waited {lag:.0f} s" if lag else "no monitor waits to be dispatched"
    return {"ok": lag <= limit, "detail": detail, "lag": round(lag, 1), "limit": limit}


def check_sweep(*, now: datetime) -> dict:
    lag, limit = sweep_lag(now=now), settings.PHAROS_WATCH_SWEEP_LAG
    detail = f"a heartbeat has been overdue for {lag:.0f} s and is still up" if lag else "no heartbeat is overdue"
    return {"ok": lag <= limit, "detail": detail, "lag": round(lag, 1), "limit": limit}


def check_delivery(*, now: datetime) -> dict:
    figures, limit = delivery_figures(now=now), settings.PHAROS_WATCH_DELIVERY_LAG
    detail = f"{figures.backlog} notifications due" + (
        f", the oldest for {figures.lag:.0f} s" if figures.backlog else ""
    )
    return {"ok": figures.lag <= limit, "detail": detail, "backlog": figures.backlog, "lag": round(figures.lag, 1)}


def check_rounds(*, now: datetime) -> dict:
    figures, limit = round_figures(now=now), settings.PHAROS_WATCH_INCONCLUSIVE_RATIO
    ratio = figures.inconclusive_ratio
    ok = figures.closed < MIN_ROUNDS or ratio < limit
    detail = (
        f"{figures.inconclusive} of {figures.closed} rounds of the last {RECENT_ROUNDS_WINDOW} s "
        "closed inconclusive for lack of results"
    )
    return {"ok": ok, "detail": detail, "closed": figures.closed, "inconclusive_ratio": round(ratio, 3)}


PIPELINE_CHECKS = (
    ("scheduler", check_scheduler),
    ("sweep", check_sweep),
    ("delivery", check_delivery),
    ("rounds", check_rounds),
)
