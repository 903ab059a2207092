"""Keep the newest ``PHAROS_PINGS_KEPT`` pings of each heartbeat; run off the request path.

Per chunk of heartbeats, one query finds each one's cut-off — the id of its (kept+1)-th
newest ping, an index scan backwards over ``ping_heartbeat_recent`` — and then one DELETE
per heartbeat that has more than it keeps. Ids grow with time, so "older than the
cut-off id" is "older than the kept pings", and a ping inserted meanwhile is never touched.
"""

from django.db import connection

CHUNK_SIZE = 500

_CUTOFFS_SQL = """
SELECT h.id,
       (SELECT p.id FROM heartbeats_ping p WHERE p.heartbeat_id = h.id ORDER BY p.id DESC LIMIT 1 OFFSET %s)
  FROM heartbeats_heartbeat h
 WHERE h.id > %s
 ORDER BY h.id
 LIMIT %s
"""

_DELETE_SQL = "DELETE FROM heartbeats_ping WHERE heartbeat_id = %s AND id <= %s"


def prune_pings(*, kept, chunk_size=CHUNK_SIZE):
    """Delete all but the newest ``kept`` pings of every heartbeat; return how many went."""
    deleted = 0
    after_id = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_CUTOFFS_SQL, [kept, after_id, chunk_size])
            rows = cursor.fetchall()
            for heartbeat_id, cutoff in rows:
                if cutoff is not None:
                    cursor.execute(_DELETE_SQL, [heartbeat_id, cutoff])
                    deleted += cursor.rowcount
        if len(rows) < chunk_size:
            return deleted
        after_id = rows[-1][0]
