"""Group commit for the commonest ping, inside one gunicorn worker process.

Under load a worker's threads each spent a statement and a WAL flush on their own
success ping. Here they hand the ping to the process's writer thread and wait; the writer
takes everything that queued up meanwhile and records it with one statement and one
commit. A request is answered only after that commit (or after its own fallback), so a
200 still means "stored".

Only successes of up, unpaused heartbeats on a fixed period are batched (what the
one-statement path of heartbeats.ping_sql records); every other ping — and any ping the
batch did not take, or a batch that failed — goes through ``record_ping`` in the request
thread as before. A batch whose commit succeeded but whose answer was lost would be
recorded again by those fallbacks, and so would one that outlived ANSWER_TIMEOUT: a
duplicate, never a loss.

On the 2-core reference machine this took PostgreSQL's share of a ping from ≈ 0.7 ms to
≈ 0.27 ms of CPU and pings spread over 10,000 heartbeats from ≈ 1,260/s to ≈ 1,900/s
(bench/ping_ingest.py).

Used by the lean WSGI route (heartbeats.wsgi) on PostgreSQL only; the test client and
SQLite take the direct path.
"""

import logging
import queue
import threading
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.db import DEFAULT_DB_ALIAS, connections

from heartbeats.ping_sql import COALESCE_SECONDS, PING_COLUMNS, prepared_cursor

if TYPE_CHECKING:  # heartbeats.ping imports heartbeats.views' chain lazily: types only
    from heartbeats.ping import PingData

# One queued ping: its token, what arrived, when, and where its answer goes (None: nobody waits).
Queued = tuple[str, "PingData", datetime, "Future[bool] | None"]

log = logging.getLogger(__name__)

MAX_BATCH = 128
GROUP_COMMIT_KEY = "pharos.ping_group_commit"  # set in the WSGI environ by heartbeats.wsgi
_STOP = object()
ANSWER_TIMEOUT = 10.0  # seconds a request waits for the writer before recording alone

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


class PingBatcher:
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
                accepted = write_batch(batch)
            except Exception:
                log.exception("a batch of %d pings failed; each is recorded on its own", len(batch))
                connections[DEFAULT_DB_ALIAS].close()
                accepted = set()
            for index, (_, _, _, answer) in enumerate(batch):
                if answer is not None:
                    answer.set_result(index in accepted)
        return not stopping


def write_batch(batch: list[Queued]) -> set[int]:
    """Record what the batch statement can; return the indexes of the stored pings."""
    columns: list[list[Any]] = [[] for _ in range(9)]
    for index, (token, ping, now, _) in enumerate(batch):
        values = (
            index,
            token,
            now,
            ping.exit_code,
            ping.method[:8],
            ping.remote_addr,
            ping.user_agent[:300],
            ping.body,
            ping.body_truncated,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with prepared_cursor() as cursor:
        cursor.execute(_BATCH_SQL, [*columns, columns[1]])
        return {row[0] for row in cursor.fetchall()}


batcher = PingBatcher()
