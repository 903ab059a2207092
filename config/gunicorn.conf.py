"""gunicorn settings shared by `make run`, the container entrypoint and bench/ (the bind
address comes from the command line).

Threaded workers (gthread): a sync worker serves one connection at a time and closes it
after every response, so each request paid a TCP set-up and a worker sat idle while its
query waited for PostgreSQL's WAL flush. With threads, a worker keeps connections alive
and overlaps those waits; one process per core uses the cores without the context
switches of more. On the 2-core reference machine bench/ping_ingest.py measured, for
pings spread over 5,000 heartbeats (before group commit, heartbeats.ping_sql.PingBatcher): sync × 5 ≈ 140–220/s,
gthread 3 × 8 ≈ 130–990/s, gthread 2 × 12 ≈ 420–1,100/s (the machine was shared, hence
the spread; CPU per ping was lowest with 2 × 12). Threads also let a worker's pings be
group-committed (heartbeats.ping_sql.PingBatcher).

Each thread holds its own persistent database connection (CONN_MAX_AGE), so the web
tier opens up to workers × threads connections: 2 × 12 = 24 on two cores.

Override with WEB_CONCURRENCY (workers; gunicorn's own variable) and PHAROS_WEB_THREADS.

The workers' /metrics counters use prometheus_client's multiprocess mode: each worker
writes to a file in ``PROMETHEUS_MULTIPROC_DIR`` (var/prometheus unless set), which the
master empties at start; ``child_exit`` marks a dead worker's files.

Slow clients. A thread is held for as long as its client takes to send the request, so
with 2 × 12 threads, 24 clients sending a byte a second would stop the web tier. The
worker class (config.gunicorn_worker) gives each request's head PHAROS_HEADER_TIMEOUT
seconds (gunicorn itself has no such limit), the application reads the body under
PHAROS_REQUEST_BODY_TIMEOUT (config.edge), and idle kept-alive connections wait in the
worker's event loop, not in a thread, for `keepalive` seconds. In production a buffering
reverse proxy (deploy/nginx/) receives whole requests before gunicorn sees them; these
limits are what holds without one.
"""

import multiprocessing
from typing import TYPE_CHECKING

from config.env import env_int
from config.metrics_multiprocess import choose_multiprocess_dir, prepare_multiprocess_dir, worker_exited

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

# Set here, when gunicorn reads this file and before the application (prometheus_client
# with it) is imported in the master (--preload) or in a worker: prometheus_client picks its
# multiprocess mode once, at import, from this variable.
multiprocess_dir = choose_multiprocess_dir()

workers = env_int("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count()), minimum=1)
worker_class = "config.gunicorn_worker.DeadlineThreadWorker"  # gthread with a head deadline
threads = env_int("PHAROS_WEB_THREADS", 12, minimum=1)
# Cron fleets reuse connections for a burst of pings; keep them a little longer than the
# default 2 s, still short enough not to pin threads to idle clients.
keepalive = 5

# A worker whose main loop is stuck this long is replaced (threads blocked on a client do
# not count: the loop itself keeps running).
timeout = 30
graceful_timeout = 20
# gunicorn's own defaults, stated: a request line and headers this large are refused
# before any Python code runs for them.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def on_starting(server: "Arbiter") -> None:
    # Once per master start (not on a HUP reload, which keeps the workers' counts).
    prepare_multiprocess_dir(multiprocess_dir)


def child_exit(server: "Arbiter", worker: "Worker") -> None:
    worker_exited(worker.pid)
