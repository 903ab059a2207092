"""Every statement of the ping's fast path on PostgreSQL: one round trip in the common case.

The rules these statements apply are stated once, in ``heartbeats.ping.plan_transition``;
the statements here are that rule written for speed where bench/ping_ingest.py shows it
pays, and tests/heartbeats/test_differential.py holds each of them to it.

``read_and_record_common_case`` reads the heartbeat by token and, in the same statement,
records the commonest pings — a success or ``/start`` of an ``up``, unpaused heartbeat on
a fixed period — whose new deadline SQL can compute (``now + period + grace``). It
returns the heartbeat's row either way, so any other ping (a failure, a first ping, a
cron schedule, a paused heartbeat) is decided in Python and claimed by
``claim_and_insert``: two round trips in all.

Hot rows: a success that arrives within ``COALESCE_SECONDS`` of the last recorded one
(and no run in progress) stores its ping but leaves the heartbeat row alone. Without
this, a fleet of machines sharing one heartbeat would queue on its row lock for a WAL
flush each; with it, the row is written at most about once a second and the deadline is
at most that much early. Cron heartbeats are never coalesced: a cron boundary inside
that second would move the deadline by a whole run. A coalesced success reads the row as
of its statement's start, so one that races a failure committed in that same second is
stored without undoing the failure: of two pings that close together, the failure wins.

``write_batch`` is the group commit's statement: many successes of up heartbeats on a
fixed period in one statement and one commit, written by each gunicorn worker's writer
thread (``PingBatcher``, below) for the request threads that queue them.

Every statement runs on Django's ordinary ``connection.cursor()``, which binds parameters
on the client, so PostgreSQL parses and plans each one afresh. A server-binding psycopg
cursor wrapped by hand (kept prepared after a few runs) needed Django's private cursor
factories and, measured, saved nothing worth them: timed in one process against that cursor, the
common-case statement cost 0.19 ms of client and 0.51 ms of server CPU against 0.15 and
0.58 ms, the batch statement the same per ping; bench/ping_ingest.py (six alternating
runs on a shared two-core machine) showed 0.84 against 0.82 ms of CPU per ping spread
over many heartbeats, 0.79 against 0.82 ms on one heartbeat. Django's documented
``OPTIONS["server_side_binding"]`` would prepare statements too, but for every query of
the project, not only these. A plain cursor also keeps working behind a pooler that
cannot keep prepared statements (PgBouncer in transaction mode).
"""

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections

from alerts.alertable import ALERTING_FIELDS, MAINTENANCE_FIELDS

if TYPE_CHECKING:  # heartbeats.ping imports this module: its types only, for mypy
    from heartbeats.ping import HeartbeatState, PingData, Transition

log = logging.getLogger(__name__)

COALESCE_SECONDS = 1

# The columns the hot path reads; heartbeats.ping.HeartbeatState takes them by name.
# ``updated_at`` is the row's version for edits (see _CLAIM_AND_INSERT_SQL).
STATE_FIELDS = (
    "id",
    "team_id",
    "name",
    "status",
    "paused_at",
    "last_ping_at",
    "last_start_at",
    "updated_at",
    "period",
    "grace",
    "cron",
    "timezone",
    *MAINTENANCE_FIELDS,
    *ALERTING_FIELDS,
)

PING_COLUMNS = (
    "heartbeat_id, created_at, kind, exit_code, method, remote_addr, user_agent, body, body_truncated, duration"
)

_SELECT_STATE_SQL = f"SELECT {', '.join(STATE_FIELDS)} FROM heartbeats_heartbeat WHERE token = %s"

# Data-modifying CTEs all run, in order of reference, on one snapshot: "claimed" moves the
# heartbeat (its WHERE re-checks the row itself, so a concurrent change makes it match
# nothing rather than overwrite), "pinged" stores the ping only if the claim succeeded or
# the ping coalesces, and the outer SELECT hands back the row as it was read.
_COMMON_CASE_SQL = f"""
WITH old AS (
    SELECT {", ".join(STATE_FIELDS)},
           (status = 'up' AND paused_at IS NULL AND cron = '') AS common,
           (last_start_at IS NULL
            AND last_ping_at BETWEEN %(now)s::timestamptz - INTERVAL '{COALESCE_SECONDS} second'
                                 AND %(now)s::timestamptz) AS fresh
      FROM heartbeats_heartbeat
     WHERE token = %(token)s::varchar
), claimed AS (
    UPDATE heartbeats_heartbeat h
       SET last_ping_at = GREATEST(h.last_ping_at, %(now)s::timestamptz),
           last_start_at = %(start_at)s::timestamptz,
           alert_after = %(now)s::timestamptz + (h.period + h.grace) * INTERVAL '1 second'
      FROM old
     WHERE %(eligible)s::boolean AND old.common AND NOT (%(coalescible)s::boolean AND old.fresh)
       -- h is found by its token (the unique index), never by the join: the planner
       -- would otherwise walk heartbeat_overdue, i.e. every up heartbeat.
       AND h.token = %(token)s::varchar AND h.id = old.id
       AND h.status = 'up' AND h.paused_at IS NULL AND h.cron = ''
       AND h.last_start_at IS NOT DISTINCT FROM old.last_start_at
 RETURNING h.id
), pinged AS (
    INSERT INTO heartbeats_ping ({PING_COLUMNS})
    SELECT old.id, %(now)s::timestamptz, %(kind)s::varchar, %(exit_code)s::smallint, %(method)s::varchar,
           %(remote_addr)s::inet, %(user_agent)s::varchar, %(body)s::text, %(body_truncated)s::boolean,
           CASE WHEN %(kind)s::varchar = 'start' THEN NULL
                ELSE EXTRACT(EPOCH FROM (%(now)s::timestamptz - old.last_start_at)) END
      FROM old
     WHERE %(eligible)s::boolean AND old.common
       AND ((%(coalescible)s::boolean AND old.fresh) OR EXISTS (SELECT 1 FROM claimed))
 RETURNING id
)
SELECT {", ".join(f"old.{name}" for name in STATE_FIELDS)}, (SELECT id FROM pinged) FROM old
"""

# The general claim: the INSERT reads the UPDATE's RETURNING, so the ping is stored exactly
# when the claim succeeded. "IS NOT DISTINCT FROM" compares NULLs as equal, so a /start
# racing with a finish is noticed like a status change. The transition was planned from
# the schedule, maintenance window and alerting settings we read, which an edit (API PATCH,
# admin, pause) may change meanwhile without touching status: every edit writes
# ``updated_at`` (pings never do), so it serves as the row's version. A changed version
# makes the claim match nothing (PostgreSQL re-checks the WHERE on the row the edit
# committed), and the caller reads and plans again rather than write a deadline or an
# incident decided under the old schedule. Concurrent pings may commit out of order by a
# few milliseconds; GREATEST (which skips NULL) keeps last_ping_at from moving backwards.
# The row lock lasts only for this statement (or the caller's transaction when an
# incident opens or resolves with it).
_CLAIM_AND_INSERT_SQL = f"""
WITH claimed AS (
    UPDATE heartbeats_heartbeat
       SET status = %s, last_ping_at = GREATEST(last_ping_at, %s), last_start_at = %s, alert_after = %s
     WHERE id = %s AND status = %s AND paused_at IS NULL AND last_start_at IS NOT DISTINCT FROM %s
       AND updated_at = %s
 RETURNING id
)
INSERT INTO heartbeats_ping ({PING_COLUMNS})
SELECT id, %s, %s, %s, %s, %s, %s, %s, %s, %s FROM claimed
RETURNING id
"""

_INSERT_ONLY_SQL = (
    f"INSERT INTO heartbeats_ping ({PING_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)


def read_and_record_common_case(
    token: str, ping: "PingData", *, now: datetime
) -> tuple[tuple[Any, ...] | None, int | None]:
    """(the heartbeat's row or None, the new ping's id or None) in one statement."""
    eligible = ping.kind in ("success", "start")
    with connection.cursor() as cursor:
        cursor.execute(
            _COMMON_CASE_SQL,
            {
                "token": token,
                "now": now,
                "eligible": eligible,
                "coalescible": ping.kind == "success",
                "start_at": now if ping.kind == "start" else None,
                "kind": ping.kind,
                **dict(zip(_REQUEST_COLUMNS, _request_values(ping), strict=True)),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None, None
    return tuple(row[:-1]), row[-1]


def read_state(token: str) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(_SELECT_STATE_SQL, [token])
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


# What the request itself brings to its ping row, in PING_COLUMNS order; the lengths are
# the columns' (a varchar(8) method, a varchar(300) user agent).
_REQUEST_COLUMNS = ("exit_code", "method", "remote_addr", "user_agent", "body", "body_truncated")


def _request_values(ping: "PingData") -> tuple[Any, ...]:
    return (ping.exit_code, ping.method[:8], ping.remote_addr, ping.user_agent[:300], ping.body, ping.body_truncated)


def _ping_values(ping: "PingData", transition: "Transition", *, now: datetime) -> list[Any]:
    return [now, ping.kind, *_request_values(ping), transition.duration]


def claim_and_insert(
    state: "HeartbeatState", transition: "Transition", ping: "PingData", *, now: datetime
) -> int | None:
    """Claim ``transition`` from the state we read and store the ping; None if we lost a race."""
    with connection.cursor() as cursor:
        if transition.records_only:
            cursor.execute(_INSERT_ONLY_SQL, [state.id, *_ping_values(ping, transition, now=now)])
        else:
            cursor.execute(
                _CLAIM_AND_INSERT_SQL,
                [
                    transition.status,
                    now,
                    transition.last_start_at,
                    transition.alert_after,
                    state.id,
                    state.status,
                    state.last_start_at,
                    state.updated_at,
                    *_ping_values(ping, transition, now=now),
                ],
            )
        row = cursor.fetchone()
    return None if row is None else row[0]


# Successes only, so no /start, no failure and no incident can be in a batch. Several
# pings of one heartbeat in a batch move its row once (to the latest) and are all stored.
_BATCH_SQL = f"""
WITH batch AS (
    SELECT * FROM unnest(%s::int[], %s::varchar[], %s::timestamptz[], %s::smallint[], %s::varchar[],
                         %s::inet[], %s::varchar[], %s::text[], %s::boolean[])
        AS b(idx, token, at, exit_code, method, remote_addr, user_agent, body, body_truncated)
), old AS (
    -- "COALESCE(status, '')" (status is never NULL) keeps the planner off the partial index
    -- heartbeat_overdue, whose predicate "status = 'up'" would otherwise match and walk
    -- every up heartbeat when statistics are thin; lookups go by token and by id instead.
    SELECT id, token, last_ping_at, last_start_at
      FROM heartbeats_heartbeat
     WHERE token = ANY(%s::varchar[]) AND COALESCE(status, '') = 'up' AND paused_at IS NULL AND cron = ''
), latest AS (
    SELECT old.id, newest.at,
           (old.last_start_at IS NULL AND old.last_ping_at >= newest.at - INTERVAL '{COALESCE_SECONDS} second') AS fresh
      FROM (SELECT old.id, max(batch.at) AS at FROM batch JOIN old USING (token) GROUP BY old.id) AS newest
      JOIN old ON old.id = newest.id
), claimed AS (
    UPDATE heartbeats_heartbeat h
       SET last_ping_at = GREATEST(h.last_ping_at, latest.at),
           last_start_at = NULL,
           alert_after = latest.at + (h.period + h.grace) * INTERVAL '1 second'
      FROM latest JOIN old ON old.id = latest.id
     WHERE h.id = latest.id AND NOT latest.fresh
       AND COALESCE(h.status, '') = 'up' AND h.paused_at IS NULL AND h.cron = ''
       AND h.last_start_at IS NOT DISTINCT FROM old.last_start_at
 RETURNING h.id
), accepted AS (
    SELECT batch.*, old.id AS heartbeat_id, old.last_start_at,
           row_number() OVER (PARTITION BY old.id ORDER BY batch.at, batch.idx) AS nth
      FROM batch JOIN old USING (token) JOIN latest ON latest.id = old.id
     WHERE latest.fresh OR old.id IN (SELECT id FROM claimed)
), pinged AS (
    -- Only a heartbeat's first success in the batch finishes its run: the ones after it
    -- found no run in progress (heartbeats.ping.plan_transition), so they have no duration.
    INSERT INTO heartbeats_ping ({PING_COLUMNS})
    SELECT heartbeat_id, at, 'success', exit_code, method, remote_addr, user_agent, body, body_truncated,
           CASE WHEN nth = 1 THEN EXTRACT(EPOCH FROM (at - last_start_at)) END
      FROM accepted
)
SELECT idx FROM accepted
"""


def write_batch(batch: Sequence[tuple[str, "PingData", datetime]]) -> set[int]:
    """Record the successes (token, ping, instant) the batch statement can take, in one
    statement; return the indexes of those stored. The caller records the others."""
    columns: list[list[Any]] = [[] for _ in range(9)]
    for index, (token, ping, now) in enumerate(batch):
        for column, value in zip(columns, (index, token, now, *_request_values(ping)), strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_BATCH_SQL, [*columns, columns[1]])
        return {row[0] for row in cursor.fetchall()}


# --- group commit -------------------------------------------------------------------------

# One queued ping: its token, what arrived, when, and where its answer goes.
Queued = tuple[str, "PingData", datetime, "Future[bool]"]

MAX_BATCH = 128
ANSWER_TIMEOUT = 10.0  # seconds a request waits for the writer before recording alone
_STOP = object()


class PingBatcher:
    """Group commit for the commonest ping, inside one gunicorn worker process.

    Under load a worker's threads each spent a statement and a WAL flush on their own
    success ping. Here they hand the ping to the process's writer thread and wait; the
    writer takes everything that queued up meanwhile and records it with one statement
    and one commit (``ping_sql.write_batch``). A request is answered only after that
    commit (or after its own fallback), so a 200 still means "stored".

    Only successes of up, unpaused heartbeats on a fixed period are batched; every other
    ping — and any ping the batch did not take, or a batch that failed — goes through
    ``heartbeats.ping.record_ping`` in the request thread. A batch whose commit succeeded but whose answer
    was lost would be recorded again by those fallbacks, and so would one that outlived
    ANSWER_TIMEOUT: a duplicate, never a loss.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Queued | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def record(self, token: str, ping: "PingData", *, now: datetime) -> bool:
        """True when the ping is stored; False when the caller must record it itself."""
        self._ensure_writer()
        answer: Future[bool] = Future()
        self._queue.put((token, ping, now, answer))
        try:
            return answer.result(timeout=ANSWER_TIMEOUT)
        except Exception:  # a timeout or the writer's failure: the caller records alone
            return False

    def _ensure_writer(self) -> None:
        # Started on first use, so each forked gunicorn worker has its own thread.
        if self._writer is None or not self._writer.is_alive():
            with self._lock:
                if self._writer is None or not self._writer.is_alive():
                    self._writer = threading.Thread(target=self._run, name="ping-batcher", daemon=True)
                    self._writer.start()

    def stop(self) -> None:
        """End the writer thread and close its connection (tests; a process exit needs none)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None and writer.is_alive():
            self._queue.put(_STOP)
            writer.join(timeout=10)

    def _run(self) -> None:
        try:
            while self._write_next_batch():
                pass
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    def _write_next_batch(self) -> bool:
        taken = [self._queue.get()]
        while len(taken) < MAX_BATCH:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        stopping = _STOP in taken
        batch = cast(list[Queued], [item for item in taken if item is not _STOP])
        if batch:
            try:
                accepted = write_batch([(token, ping, now) for token, ping, now, _ in batch])
            except Exception:
                log.exception("a batch of %d pings failed; each is recorded on its own", len(batch))
                connections[DEFAULT_DB_ALIAS].close()
                accepted = set()
            for index, (_, _, _, answer) in enumerate(batch):
                answer.set_result(index in accepted)
        return not stopping


batcher = PingBatcher()
