"""Telling the region workers that a monitor was paused or deleted (probes.withdrawn).

The scheduler stops dispatching such a monitor at once; this is for its checks already
queued or running in the regions, which the workers then do not start (or cut short).

- ``withdraw_monitors(ids, now=…, paused=…)`` is called where a monitor is paused (the
  API, the admin's action) and, through a ``post_delete`` receiver, wherever one is
  deleted: the API, the admin, and the cascade of a deleted team — the case that
  matters most, a whole team's backlog of never-answering targets.
- The workers hear it after the transaction commits, in one write per transaction (a
  team of 10,000 monitors deleted is one write, not 10,000), and only for monitors that
  are still paused or gone by then: a rolled-back pause or delete withdraws nothing.
  Redis being away costs only this courtesy: the checks run as they did before.
- A paused monitor's open rounds are closed in the same transaction (verdict
  inconclusive, note ``WITHDRAWN_NOTE``): their checks now end as "not run" errors, and
  a round of those must neither raise an operator signal nor count as a round closed
  for lack of results (config.pipeline). A deleted monitor's rounds go with it.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from monitors.models import Monitor, Round, RoundVerdict
from probes.withdrawn import WithdrawnMonitors

log = logging.getLogger(__name__)

WITHDRAWN_NOTE = "withdrawn: monitor paused"


def withdraw_monitors(monitor_ids: Iterable[int], *, now: datetime, paused: bool) -> None:
    ids = sorted(set(monitor_ids))
    if not ids:
        return
    if paused:
        Round.objects.filter(monitor_id__in=ids, closed_at__isnull=True).update(
            closed_at=now, verdict=RoundVerdict.INCONCLUSIVE, note=WITHDRAWN_NOTE
        )
    # The tick claims rounds due up to half a tick ahead, so a round scheduled just after
    # `now` may already be on its way: withdraw up to a tick later. (A monitor resumed
    # within that second may see its first round not run; its next one runs.)
    at = (now + timedelta(seconds=settings.PHAROS_TICK_SECONDS)).timestamp()
    connection = transaction.get_connection()
    current: _Batch | None = getattr(connection, "_pharos_withdrawals", None)
    # A batch whose callback is no longer pending ran already, or went with a rollback.
    # (run_on_commit holds (savepoint ids, callback, robust) for the open transaction.)
    pending = current is not None and any(entry[1] is current for entry in connection.run_on_commit)
    batch = current if current is not None and pending else _Batch()
    connection._pharos_withdrawals = batch
    batch.add(ids, at=at, paused=paused)
    if not pending:
        transaction.on_commit(batch)  # outside a transaction: runs now


class _Batch:
    """The withdrawals of one transaction, published once it commits."""

    def __init__(self) -> None:
        self.paused: set[int] = set()
        self.deleted: set[int] = set()
        self.at = 0.0

    def add(self, ids: list[int], *, at: float, paused: bool) -> None:
        (self.paused if paused else self.deleted).update(ids)
        self.at = max(self.at, at)

    def __call__(self) -> None:
        from monitors.models import Monitor

        # What is true after the commit: a pause or delete undone by a rolled-back
        # savepoint inside the transaction is not published.
        still_there = set(Monitor.objects.filter(pk__in=self.deleted).values_list("pk", flat=True))
        still_paused = Monitor.objects.filter(pk__in=self.paused, paused_at__isnull=False).values_list("pk", flat=True)
        ids = sorted((self.deleted - still_there) | set(still_paused))
        if ids:
            publish_withdrawals(ids, at=self.at)


def publish_withdrawals(monitor_ids: list[int], *, at: float) -> bool:
    """Write the withdrawals next to the broker; False (logged) when that failed."""
    try:
        store = WithdrawnMonitors.for_broker(settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS)
        store.withdraw(monitor_ids, at=at)
    except Exception as error:  # noqa: BLE001 - a courtesy to the workers; never fail the write
        log.warning(
            "could not tell the region workers that %d monitor(s) were withdrawn: %s",
            len(monitor_ids),
            error,
            extra={"monitors": monitor_ids[:100]},
        )
        return False
    log.debug("withdrew %d monitor(s) from the region workers", len(monitor_ids))
    return True


def monitor_deleted(sender: type[Monitor], instance: Monitor, **kwargs: object) -> None:
    """``post_delete`` receiver: a signal because deletion has paths no view sees (the
    cascade of a deleted team); the publish still waits for the commit."""
    from django.utils import timezone

    withdraw_monitors([instance.pk], now=timezone.now(), paused=False)
