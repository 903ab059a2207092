"""gunicorn settings shared by `make run`, the container entrypoint and bench/ (the bind
address comes from the command line).

Threaded workers (gthread): a sync worker serves one connection at a time and closes it
after every response, so each request paid a TCP set-up and a worker sat idle while its
query waited for PostgreSQL's WAL flush. With threads, a worker keeps connections alive
and overlaps those waits; a few processes use the cores. On this project's 2-core
reference machine, bench/ping_ingest.py measured sync × 5 at a fraction of gthread 3 × 8
for pings and for the trivial view alike (figures in the heartbeats issue's report).

Each thread holds its own persistent database connection (CONN_MAX_AGE), so the web
tier opens up to workers × threads connections: 3 × 8 = 24 with the defaults.

Override with WEB_CONCURRENCY (workers; gunicorn's own variable) and PHAROS_WEB_THREADS.
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() + 1)
worker_class = "gthread"
threads = int(os.environ.get("PHAROS_WEB_THREADS") or 8)
# Cron fleets reuse connections for a burst of pings; keep them a little longer than the
# default 2 s, still short enough not to pin threads to idle clients.
keepalive = 5
