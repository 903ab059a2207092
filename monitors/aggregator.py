"""The aggregator: one results message in, stored votes and closed rounds out.

``record_outcomes`` is the body of the ``monitors.record_outcomes`` task. Steps:

1. Store every outcome as a CheckResult in one bulk INSERT. The unique
   ``(monitor, scheduled_at, region)`` turns a redelivered message into a no-op.
2. Count the votes of the open rounds the message touched — *after* the insert commits,
   so of two aggregators storing the last two votes of a round concurrently, at least
   the later one sees them all.
3. Close the rounds whose regions all answered. A round already past its deadline is
   closed with the votes that arrived in time: this message's votes are late and do not
   count, so a backlog of stale results makes rounds inconclusive, never down.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from monitors import quarantine
from monitors.models import CheckResult, Monitor, Round
from monitors.rounds import Closure, close_rounds, relax_durability
from monitors.verdicts import DOWN, ERROR, UP, Vote, decide, quorum_of

logger = logging.getLogger(__name__)

VOTE_FIELDS = (
    "monitor_id",
    "scheduled_at",
    "region",
    "outcome",
    "cause",
    "status_code",
    "response_excerpt",
    "tls_expires_at",
)


def parse_time(value: str | datetime | None) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


class ResultRow(NamedTuple):
    """One vote as stored: the CheckResult columns, in the order of the INSERT below."""

    monitor_id: int
    # None only from a malformed outcome: PostgreSQL's NOT NULL refuses the message, SQLite's
    # INSERT OR IGNORE drops the row.
    scheduled_at: datetime | None
    region: str
    outcome: str
    cause: str
    status_code: int | None
    response_time: float | None
    name_lookup_time: float | None
    connection_time: float | None
    tls_handshake_time: float | None
    processing_time: float | None
    data_transfer_time: float | None
    remote_ip: str
    tls_expires_at: datetime | None
    tls_issuer: str
    response_excerpt: str
    checked_at: datetime


RESULT_COLUMNS = ResultRow._fields
# The PostgreSQL array type of each column, in RESULT_COLUMNS' order (the unnest INSERT).
_PG_TYPES = (
    "bigint",
    "timestamptz",
    "text",
    "text",
    "text",
    "integer",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "text",
    "timestamptz",
    "text",
    "text",
    "timestamptz",
)


class RoundRow(NamedTuple):
    """An open round as the aggregator closes it, with its monitor's quorum."""

    pk: int
    monitor_id: int
    scheduled_at: datetime
    regions: list[str]
    deadline: datetime
    quorum: int


# (monitor_id, scheduled_at): a round's key, as outcomes name it.
RoundKey = tuple[int, datetime]
# region → Vote, per round key.
Votes = dict[RoundKey, dict[str, Vote]]


def result_row(outcome: Mapping[str, Any], *, region: str, now: datetime) -> ResultRow:
    """One outcome dict → the CheckResult columns, cut to their sizes."""
    phases = outcome.get("phases") or {}
    status = outcome.get("status")
    status_code = outcome.get("status_code")
    return ResultRow(
        monitor_id=int(outcome["monitor_id"]),
        scheduled_at=parse_time(outcome["scheduled_at"]),
        region=(outcome.get("region") or region)[:32],
        outcome=status if status in (UP, DOWN, ERROR) else ERROR,
        cause=(outcome.get("cause") or "")[:500],
        status_code=status_code if isinstance(status_code, int) and 0 <= status_code < 32768 else None,
        response_time=_float(outcome.get("response_time")),
        name_lookup_time=_float(phases.get("name_lookup")),
        connection_time=_float(phases.get("connect")),
        tls_handshake_time=_float(phases.get("tls_handshake")),
        processing_time=_float(phases.get("processing")),
        data_transfer_time=_float(phases.get("transfer")),
        remote_ip=(outcome.get("remote_ip") or "")[:45],
        tls_expires_at=parse_time(outcome.get("tls_expires_at")),
        tls_issuer=(outcome.get("tls_issuer") or "")[:300],
        response_excerpt=(outcome.get("response_excerpt") or "")[:500],
        checked_at=parse_time(outcome.get("checked_at")) or now,
    )


def store_results(rows: Sequence[ResultRow]) -> int:
    """Insert the rows, skipping votes already stored and monitors deleted meanwhile.
    Returns how many were new."""
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        try:
            return _insert_postgresql(rows)
        except IntegrityError:
            # A monitor deleted between the EXISTS check and the FK check: try once more.
            return _insert_postgresql(rows)
    existing = set(Monitor.objects.filter(pk__in={r.monitor_id for r in rows}).values_list("pk", flat=True))
    objects = [CheckResult(**row._asdict()) for row in rows if row.monitor_id in existing]
    CheckResult.objects.bulk_create(objects, batch_size=500, ignore_conflicts=True)
    return len(objects)


def _insert_postgresql(rows: Sequence[ResultRow]) -> int:
    # One INSERT … SELECT FROM unnest: no model instances, and the EXISTS filter drops
    # outcomes of monitors deleted since dispatch. ON CONFLICT: a redelivered batch.
    columns = ", ".join(RESULT_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in _PG_TYPES)
    with transaction.atomic(), connection.cursor() as cursor:
        relax_durability(cursor)
        cursor.execute(
            f"INSERT INTO {CheckResult._meta.db_table} ({columns}) "
            f"SELECT v.* FROM unnest({arrays}) AS v({columns}) "
            f"WHERE EXISTS (SELECT 1 FROM {Monitor._meta.db_table} AS m WHERE m.id = v.monitor_id) "
            "ON CONFLICT (monitor_id, scheduled_at, region) DO NOTHING",
            [list(column) for column in zip(*rows, strict=True)],
        )
        inserted: int = cursor.rowcount
        return inserted


def _round_rows(queryset: QuerySet, limit: int | None = None) -> list[RoundRow]:
    rows = queryset.values_list("pk", "monitor_id", "scheduled_at", "regions", "deadline", "monitor__quorum")
    if limit is not None:
        rows = rows[:limit]
    return [
        RoundRow(pk, monitor_id, scheduled_at, regions, deadline, quorum_of(regions, override))
        for pk, monitor_id, scheduled_at, regions, deadline, override in rows
    ]


def open_rounds_for(keys: Collection[RoundKey]) -> list[RoundRow]:
    """Open rounds for ``{(monitor_id, scheduled_at)}``, as RoundRows."""
    if not keys:
        return []
    candidates = Round.objects.filter(
        monitor_id__in={m for m, _ in keys}, scheduled_at__in={t for _, t in keys}, closed_at__isnull=True
    )
    return [r for r in _round_rows(candidates) if (r.monitor_id, r.scheduled_at) in keys]


def votes_for(rounds: Iterable[RoundRow]) -> Votes:
    """``{(monitor_id, scheduled_at): {region: Vote}}`` for the given rounds."""
    keys = {(r.monitor_id, r.scheduled_at) for r in rounds}
    if not keys:
        return {}
    votes: defaultdict[RoundKey, dict[str, Vote]] = defaultdict(dict)
    rows = CheckResult.objects.filter(
        monitor_id__in={m for m, _ in keys}, scheduled_at__in={t for _, t in keys}
    ).values_list(*VOTE_FIELDS)
    for monitor_id, scheduled_at, region, outcome, cause, status_code, excerpt, tls_expires_at in rows:
        if (monitor_id, scheduled_at) in keys:
            votes[(monitor_id, scheduled_at)][region] = Vote(
                region, outcome, cause, status_code, excerpt, tls_expires_at
            )
    return votes


def open_rounds_with_votes(keys: Collection[RoundKey]) -> tuple[list[RoundRow], Votes]:
    """The open rounds among ``keys`` and every vote stored for them: ``(rounds, votes)``."""
    if connection.vendor != "postgresql":
        rounds = open_rounds_for(keys)
        return rounds, votes_for(rounds)
    if not keys:
        return [], {}
    # One round trip on the hot path: the exact keys joined to their open round, its
    # monitor's quorum and its votes (the unique index serves the vote lookup).
    vote_columns = ", ".join(f"c.{name}" for name in VOTE_FIELDS[2:])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.monitor_id, r.scheduled_at, r.regions, r.deadline, m.quorum, " + vote_columns + " "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS k(monitor_id, scheduled_at) "
            f"JOIN {Round._meta.db_table} AS r ON r.monitor_id = k.monitor_id AND r.scheduled_at = k.scheduled_at "
            "AND r.closed_at IS NULL "
            f"JOIN {Monitor._meta.db_table} AS m ON m.id = r.monitor_id "
            f"LEFT JOIN {CheckResult._meta.db_table} AS c ON c.monitor_id = r.monitor_id "
            "AND c.scheduled_at = r.scheduled_at",
            [[m for m, _ in keys], [t for _, t in keys]],
        )
        rows = cursor.fetchall()
    by_pk: dict[int, RoundRow] = {}
    votes: defaultdict[RoundKey, dict[str, Vote]] = defaultdict(dict)
    for pk, monitor_id, scheduled_at, regions, deadline, override, region, outcome, cause, code, excerpt, tls in rows:
        if isinstance(regions, str):
            regions = json.loads(regions)
        if pk not in by_pk:
            by_pk[pk] = RoundRow(pk, monitor_id, scheduled_at, regions, deadline, quorum_of(regions, override))
        if region is not None:
            votes[(monitor_id, scheduled_at)][region] = Vote(region, outcome, cause, code, excerpt, tls)
    return list(by_pk.values()), votes


def record_outcomes(message: Mapping[str, Any], *, now: datetime) -> dict[str, int]:
    """Store one results message and close the rounds it completes. Returns a summary."""
    region = message.get("region") or ""
    rows = [result_row(o, region=region, now=now) for o in message.get("outcomes") or ()]
    stored = store_results(rows)
    if message.get("dropped"):
        logger.warning(
            "region %s dropped %s checks (loop lag %s s)",
            region,
            message["dropped"],
            message.get("loop_lag"),
            extra={"region": region, "dropped": message["dropped"]},
        )

    rounds, votes = open_rounds_with_votes({(r.monitor_id, r.scheduled_at) for r in rows if r.scheduled_at is not None})
    quarantined = quarantine.quarantined_regions()
    late_regions = {r.region for r in rows}
    closures: list[Closure] = []
    for round_ in rounds:
        round_votes = votes.get((round_.monitor_id, round_.scheduled_at), {})
        if now > round_.deadline:
            in_time = {k: v for k, v in round_votes.items() if k not in late_regions}
            verdict = decide(regions=round_.regions, quorum=round_.quorum, votes=in_time, quarantined=quarantined)
            closures.append((round_, verdict, in_time))
        elif all(region in round_votes for region in round_.regions):
            verdict = decide(regions=round_.regions, quorum=round_.quorum, votes=round_votes, quarantined=quarantined)
            closures.append((round_, verdict, round_votes))
    closed = close_rounds(closures, now=now)
    return {"stored": stored, "closed": closed}


def close_overdue_rounds(*, now: datetime, limit: int = 5000) -> int:
    """Close open rounds past their deadline with the votes in hand (absent = MISSING)."""
    rounds = _round_rows(Round.objects.filter(closed_at__isnull=True, deadline__lt=now).order_by("deadline"), limit)
    if not rounds:
        return 0
    votes = votes_for(rounds)
    quarantined = quarantine.quarantined_regions()
    closures: list[Closure] = []
    for round_ in rounds:
        round_votes = votes.get((round_.monitor_id, round_.scheduled_at), {})
        verdict = decide(regions=round_.regions, quorum=round_.quorum, votes=round_votes, quarantined=quarantined)
        closures.append((round_, verdict, round_votes))
    return close_rounds(closures, now=now)
