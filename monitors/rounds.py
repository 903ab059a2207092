"""Closing rounds: claim each close once, then apply its verdict.

Shared by the aggregator (all regions answered) and ``close_overdue_rounds`` (deadline
passed). Steps for a list of ``(round, verdict, votes)``:

1. Claim the closes with ``UPDATE … WHERE closed_at IS NULL``: of two workers closing one
   round, exactly one sees its row come back and goes on.
2. UP rounds of monitors with nothing to recover from advance in one conditional UPDATE,
   in the claim's transaction; every other round goes through the state machine under
   the monitor's row lock.
3. Note lone failures (one region DOWN, the others UP) for quarantine.
4. Inconclusive rounds raise one operator event per batch, never an incident.

Certificate expiry needs nothing here: a probe given ``ssl_expiration_days`` reports a
certificate inside the window as DOWN ("TLS certificate expires in N days"), so the
quorum and the state machine open the incident and a renewed certificate resolves it.
"""

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from alerts.models import Incident, OperatorEvent
from monitors import quarantine, state
from monitors.models import Monitor, Round, RoundVerdict
from monitors.verdicts import Verdict, Vote, lone_failing_region

logger = logging.getLogger(__name__)

EVENT_MONITOR_LIMIT = 100


class ClosingRound(Protocol):
    """What closing reads of a round: a Round, or the aggregator's RoundRow."""

    @property
    def pk(self) -> int: ...
    @property
    def monitor_id(self) -> int: ...
    @property
    def scheduled_at(self) -> datetime: ...
    @property
    def regions(self) -> list[str]: ...


# A round to close, its verdict and the votes it was decided on (region → Vote).
Closure = tuple[ClosingRound, Verdict, Mapping[str, Vote]]
Decision = tuple[ClosingRound, Verdict]


def close_rounds(closures: Sequence[Closure], *, now: datetime) -> int:
    """``closures``: [(round, Verdict, votes)]. Returns how many rounds this call closed."""
    if not closures:
        return 0
    with transaction.atomic():
        # One commit for the claim and the common case. A transition (the locked path
        # below) commits on its own; should the process die in between, that round's
        # verdict is lost and the monitor's next round decides instead.
        claimed_ids = _claim(closures, now=now)
        claimed = [c for c in closures if c[0].pk in claimed_ids]
        decided = [(r, v) for r, v, _ in claimed if v.kind != RoundVerdict.INCONCLUSIVE]
        settled = _advance_steady(decided, now=now)
    if not claimed:
        return 0
    # Oldest first, as they were scheduled: a newer round applied first would make the
    # state machine drop the older one as stale.
    for round_, verdict in sorted(decided, key=lambda decision: decision[0].scheduled_at):
        if round_.pk in settled:
            continue
        try:
            state.apply_verdict(
                monitor_id=round_.monitor_id, scheduled_at=round_.scheduled_at, verdict=verdict, now=now
            )
        except Exception:
            # The rounds are already closed: one monitor whose transition fails must not
            # cost the rest of the batch their verdicts (its next round decides again).
            logger.exception(
                "monitor %s: applying the verdict of round %s failed",
                round_.monitor_id,
                round_.scheduled_at.isoformat(),
                extra={"monitor": round_.monitor_id, "round": round_.scheduled_at.isoformat()},
            )
    _note_lone_failures(claimed, now=now)
    inconclusive = [(r, v) for r, v, _ in claimed if v.kind == RoundVerdict.INCONCLUSIVE]
    if inconclusive:
        _raise_inconclusive_event(inconclusive, now=now)
    return len(claimed)


def relax_durability(cursor: CursorWrapper) -> None:
    """Commit without waiting for the WAL flush (PostgreSQL, this transaction only).

    Used for votes and steady rounds only: a database crash may forget the last moments
    of them, and the rounds they belonged to then close as inconclusive at their deadline
    — never a false incident. Incidents are opened in ordinary, durable transactions.
    Waiting for the flush on every batch halved the aggregator's throughput.
    """
    cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _claim(closures: Sequence[Closure], *, now: datetime) -> set[int]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            relax_durability(cursor)
            cursor.execute(
                "UPDATE monitors_round AS r SET closed_at = %s, verdict = v.verdict, note = v.note "
                "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, verdict, note) "
                "WHERE r.id = v.id AND r.closed_at IS NULL RETURNING r.id",
                [
                    now,
                    [r.pk for r, _, _ in closures],
                    [str(v.kind) for _, v, _ in closures],
                    [v.note[:200] for _, v, _ in closures],
                ],
            )
            return {row[0] for row in cursor.fetchall()}
    claimed: set[int] = set()
    for round_, verdict, _ in closures:
        if Round.objects.filter(pk=round_.pk, closed_at__isnull=True).update(
            closed_at=now, verdict=verdict.kind, note=verdict.note[:200]
        ):
            claimed.add(round_.pk)
    return claimed


def _note_lone_failures(claimed: Sequence[Closure], *, now: datetime) -> None:
    lone: list[tuple[str, int]] = []
    for round_, _, votes in claimed:
        region = lone_failing_region(votes, regions=round_.regions)
        if region is not None:
            lone.append((region, round_.monitor_id))
    if not lone:
        return
    urls = dict(Monitor.objects.filter(pk__in={m for _, m in lone}).values_list("pk", "url"))
    quarantine.record_lone_failures([(region, m, urls[m]) for region, m in lone if m in urls], now=now)


def _advance_steady(decided: Sequence[Decision], *, now: datetime) -> set[int]:
    """UP rounds of monitors with nothing to recover from, written in one statement;
    returns their round ids.

    For a monitor that is up (or pending with no open incident) an UP verdict only
    stamps the round and starts or continues its passing run — exactly what the state
    machine would do. The UPDATE re-checks every assumption (status, no open incident,
    round newer than the last applied), so a monitor another aggregator just moved
    falls back to the locked path.

    Only a monitor's sole decided round in the batch qualifies: with two (a DOWN, then an
    UP), skipping to the newest would drop the older one's transition — the incident it
    opens, the passing run the UP starts again — so both take the locked path in order.
    """
    if connection.vendor != "postgresql":
        return set()
    rounds_of: defaultdict[int, list[Decision]] = defaultdict(list)
    for round_, verdict in decided:
        rounds_of[round_.monitor_id].append((round_, verdict))
    latest = {
        monitor_id: only[0][0]
        for monitor_id, only in rounds_of.items()
        if len(only) == 1 and only[0][1].kind == RoundVerdict.UP
    }
    if not latest:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE monitors_monitor AS m SET last_checked_at = %s, verdict_round_at = v.at, status = 'up', "
            "failing_since = NULL, passing_since = COALESCE(m.passing_since, v.at) "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
            "WHERE m.id = v.id AND m.paused_at IS NULL "
            "AND (m.verdict_round_at IS NULL OR m.verdict_round_at < v.at) "
            "AND (m.status = 'up' OR (m.status = 'pending' AND NOT EXISTS ("
            f"SELECT 1 FROM {Incident._meta.db_table} AS i WHERE i.source_type = 'monitor' "
            "AND i.source_id = m.id AND i.resolved_at IS NULL))) "
            "RETURNING m.id",
            [now, list(latest), [r.scheduled_at for r in latest.values()]],
        )
        advanced = {row[0] for row in cursor.fetchall()}
    return {latest[pk].pk for pk in advanced}


def _raise_inconclusive_event(inconclusive: Sequence[Decision], *, now: datetime) -> None:
    by_region: defaultdict[str, int] = defaultdict(int)
    for _, verdict in inconclusive:
        for region in verdict.missing_regions + verdict.error_regions:
            by_region[region] += 1
    monitor_ids = sorted({r.monitor_id for r, _ in inconclusive})
    message = f"{len(inconclusive)} inconclusive round(s); silent or erroring regions: " + (
        ", ".join(f"{region} ({count})" for region, count in sorted(by_region.items())) or "none"
    )
    OperatorEvent.objects.create(
        at=now,
        kind=OperatorEvent.Kind.INCONCLUSIVE_ROUND,
        message=message,
        metadata={
            "rounds": len(inconclusive),
            "regions": dict(by_region),
            "monitor_ids": monitor_ids[:EVENT_MONITOR_LIMIT],
            "notes": sorted({v.note for _, v in inconclusive})[:10],
        },
    )
    # One line per batch, not per round (a backlog closes thousands at once); a batch of
    # one round, or of one silent region, still names it as a field.
    context: dict[str, object] = {"monitors": monitor_ids[:EVENT_MONITOR_LIMIT]}
    if len(inconclusive) == 1:
        round_ = inconclusive[0][0]
        context.update(monitor=round_.monitor_id, round=round_.scheduled_at.isoformat())
    if len(by_region) == 1:
        context["region"] = next(iter(by_region))
    logger.warning(message, extra=context)
