"""The region worker: a Celery app with no Django and no database.

    PHAROS_REGION=eu REDIS_URL=redis://… celery -A probes.worker worker -Q probe.eu

Environment: ``PHAROS_REGION`` (required), ``REDIS_URL`` (unset: the on-disk broker of
the quick start), and optionally ``PHAROS_PROBE_CONCURRENCY`` (checks in flight, default
100, shared fairly between teams: probes.fairness) and ``PHAROS_ALLOW_PRIVATE_TARGETS``.
It also follows the monitors paused or deleted meanwhile (probes.withdrawn) and does not
start their queued checks. It consumes ``probes.run_batch`` messages
from ``probe.<region>`` and publishes one ``monitors.record_outcomes`` message per batch
to ``results``.

The ``solo`` pool is the default: the task only admits a batch to the process's event
loop (see probes.engine), so one process needs no more Celery concurrency than that.
"""

import logging
import os
from typing import Any

from celery import Celery, signals
from kombu.entity import Queue

from config import broker
from config.logging import route_celery_logs_through_json
from probes.engine import Engine
from probes.spec import results_message
from probes.withdrawn import WithdrawnCache, WithdrawnMonitors

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 100
# On shutdown, how long admitted batches may run on before their remaining checks are
# cancelled (and reported as ERROR): well inside the usual 30 s a supervisor waits.
DRAIN_SECONDS = 20


def worker_region() -> str:
    region = os.environ.get("PHAROS_REGION", "").strip()
    if not region:
        raise RuntimeError("PHAROS_REGION must be set to the worker's region, e.g. PHAROS_REGION=eu")
    return region


def probe_concurrency() -> int:
    raw = os.environ.get("PHAROS_PROBE_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    if not raw.isdigit() or int(raw) < 1:
        raise RuntimeError(f"PHAROS_PROBE_CONCURRENCY must be a positive integer, got {raw!r}")
    return int(raw)


REGION = worker_region()
QUEUE = broker.probe_queue(REGION)
# Before the worker sets up its handlers: with PHAROS_LOG_JSON on they write JSON lines,
# and JsonFormatter names this region on every line that names none.
route_celery_logs_through_json()

app = Celery("pharos-probes")
app.conf.update(
    broker.broker_settings(),
    task_queues=(Queue(QUEUE, routing_key=QUEUE),),
    task_default_queue=QUEUE,
    task_routes={broker.RECORD_OUTCOMES_TASK: {"queue": broker.RESULTS_QUEUE}},
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    # Acked once admitted: the batch then belongs to this process's engine.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    worker_pool="solo",
    timezone="UTC",
    enable_utc=True,
)

_engine: Engine | None = None


def engine() -> Engine:
    """This process's engine, built on first use (after any fork of a prefork pool)."""
    global _engine
    if _engine is None:
        settings = broker.broker_settings()
        withdrawn = WithdrawnMonitors.for_broker(settings["broker_url"], settings["broker_transport_options"])
        _engine = Engine(
            region=REGION,
            concurrency=probe_concurrency(),
            publish=publish_outcomes,
            withdrawn=WithdrawnCache(withdrawn),
        )
    return _engine


def publish_outcomes(message: dict[str, Any]) -> None:
    app.send_task(broker.RECORD_OUTCOMES_TASK, args=[message], queue=broker.RESULTS_QUEUE)


@app.task(name=broker.RUN_BATCH_TASK)
def run_batch(message: dict[str, Any]) -> None:
    """Run one batch (probes.spec.batch_message); its outcomes go to ``results``."""
    if message.get("region") not in (None, "", REGION):
        logger.warning(
            "batch for region %r reached the %r worker; running it here",
            message.get("region"),
            REGION,
            extra={"region": REGION, "addressed_to": message.get("region")},
        )
    engine().submit(message)


@signals.task_revoked.connect
def count_expired_batch(sender: Any = None, request: Any = None, expired: bool = False, **_: Any) -> None:
    """A batch sent with a Celery ``expires`` (as the scheduler sends them) that expired
    in the queue is discarded by Celery before ``run_batch`` sees it: count it as
    dropped all the same, so the aggregator hears the region fell behind."""
    if not expired or getattr(sender, "name", None) != broker.RUN_BATCH_TASK:
        return
    args = getattr(request, "args", None) or ()
    message = args[0] if args and isinstance(args[0], dict) else {}
    dropped = len(message.get("specs") or ())
    logger.warning(
        "dropped an expired batch of %d checks before it ran", dropped, extra={"region": REGION, "dropped": dropped}
    )
    publish_outcomes(results_message(region=REGION, outcomes=[], dropped=dropped))


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def drain_engine(**_: Any) -> None:
    if _engine is not None:
        _engine.drain(DRAIN_SECONDS)
