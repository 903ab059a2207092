"""The region worker's engine: one event loop thread per process running batches.

The Celery task only *admits* a batch and returns; the batch runs on this process's
event loop next to every other admitted batch, sharing one bound on concurrent checks
(``concurrency``), and its outcomes are published when its last check ends. So a batch
holding a target that times out after 30 s never blocks the batches behind it, whatever
pool or ``--concurrency`` the worker was started with.

Admission blocks while the process already holds ``max_pending`` checks (backpressure:
the broker keeps the rest), and a batch that expired before it was admitted is dropped,
not run late: its checks would land in rounds the aggregator already closed. For the
same reason a check of an admitted batch that finds no free slot before the batch's
expiry is not run either (probes.fairness): it reports the worker overloaded.

With ``withdrawn`` (a probes.withdrawn.WithdrawnCache), a thread refreshes the paused and
deleted monitors every second and the runner cuts their checks short.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from probes.runner import OVERLOADED, WITHDRAWN, LagMeter, ProbeContext, Runner
from probes.spec import Outcome, results_message
from probes.withdrawn import WithdrawnCache

logger = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (a third less CPU per check than asyncio's loop, see
    bench/probe_throughput.py), else asyncio's own: the probes work on either."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def parse_expiry(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Engine:
    def __init__(
        self,
        *,
        region: str,
        concurrency: int,
        publish: Callable[[dict[str, Any]], None],
        max_pending: int | None = None,
        withdrawn: WithdrawnCache | None = None,
        **context_options: Any,
    ) -> None:
        """``publish(message)`` sends one results message; it is called from a
        dedicated thread, one message at a time, never from the event loop."""
        self.region = region
        self.publish = publish
        self.max_pending = max_pending or concurrency * 10
        self.pending = 0
        self.changed = threading.Condition()
        self.context = ProbeContext(region=region, **context_options)
        self.loop = new_event_loop()
        self.runner = Runner(self.context, concurrency=concurrency)
        self.lag = LagMeter(self.loop)
        self.publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pharos-publish")
        self.thread = threading.Thread(target=self._serve, name="pharos-probe-loop", daemon=True)
        self.thread.start()
        self.stopping = threading.Event()
        self.withdrawn = withdrawn
        if withdrawn is not None:
            threading.Thread(target=self._follow_withdrawals, name="pharos-withdrawn", daemon=True).start()

    def _follow_withdrawals(self) -> None:
        assert self.withdrawn is not None
        # Off the loop: a slow broker must never stall the checks.
        while not self.stopping.wait(self.withdrawn.interval / 2):
            entries = self.withdrawn.refresh()
            if entries is not None:
                self.loop.call_soon_threadsafe(self.runner.withdraw, entries)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.lag.start()
        self.loop.run_forever()

    def submit(self, message: dict[str, Any], *, now: datetime | None = None) -> bool:
        """Admit one batch message (see probes.spec.batch_message). Returns False when
        the batch was dropped because it expired, True once it is running."""
        specs = message.get("specs") or []
        expires_at = parse_expiry(message.get("expires_at"))
        with self.changed:
            while self.pending and self.pending + len(specs) > self.max_pending:
                left: float | None = None
                if expires_at is not None:
                    left = (expires_at - datetime.now(UTC)).total_seconds()
                    if left <= 0:
                        break
                self.changed.wait(timeout=left)
            now = now or datetime.now(UTC)
            if expires_at is not None and expires_at <= now:
                logger.warning(
                    "dropped an expired batch of %d checks (expired %s)",
                    len(specs),
                    expires_at.isoformat(),
                    extra={"region": self.region, "dropped": len(specs)},
                )
                self._send(results_message(region=self.region, outcomes=[], dropped=len(specs)))
                return False
            self.pending += len(specs)
        asyncio.run_coroutine_threadsafe(self._run(specs, expires_at), self.loop)
        return True

    async def _run(self, specs: list[Any], expires_at: datetime | None = None) -> None:
        started = self.loop.time()
        start_by: float | None = None
        if expires_at is not None:
            start_by = started + (expires_at - datetime.now(UTC)).total_seconds()
        message: dict[str, Any] | None = None
        try:
            outcomes = await self.runner.run_batch(specs, start_by=start_by)
            message = results_message(
                region=self.region, outcomes=outcomes, loop_lag=self.lag.worst_between(started, self.loop.time())
            )
            self._log_not_run(outcomes)
        finally:
            # The checks stay counted as pending until their message is out, so drain()
            # and admission see a batch as done only once the aggregator can have it.
            self._send(message, release=len(specs))

    def _log_not_run(self, outcomes: list[Outcome]) -> None:
        overloaded = sum(1 for outcome in outcomes if outcome.cause == OVERLOADED)
        withdrawn = sum(1 for outcome in outcomes if outcome.cause == WITHDRAWN)
        if overloaded:
            logger.warning(
                "%d checks of a batch found no free slot before their rounds' deadline (%d waiting)",
                overloaded,
                self.runner.slots.waiting_count(),
                extra={"region": self.region, "overloaded": overloaded},
            )
        if withdrawn:
            logger.debug(
                "%d checks of paused or deleted monitors not run",
                withdrawn,
                extra={"region": self.region, "withdrawn": withdrawn},
            )

    def _send(self, message: dict[str, Any] | None, *, release: int = 0) -> None:
        self.publisher.submit(self._publish_safely, message, release)

    def _publish_safely(self, message: dict[str, Any] | None, release: int) -> None:
        try:
            if message is not None:
                self.publish(message)
        except Exception:
            logger.exception(
                "could not publish the outcomes of %d checks",
                len(message["outcomes"]) if message else 0,
                extra={"region": self.region},
            )
        finally:
            if release:
                with self.changed:
                    self.pending -= release
                    self.changed.notify_all()

    def drain(self, timeout: float | None, *, grace: float = 5.0) -> None:
        """Wait (at most ``timeout`` s) for admitted batches to finish and be published.

        Checks still running then are cancelled, which turns them into ERROR outcomes
        ("worker shutting down") that are published with their batches within ``grace``
        seconds: the aggregator hears the worker gave up rather than nothing at all.
        """
        if not self._wait_until_idle(timeout):
            logger.warning("stopping: cancelling %d checks still running", self.pending, extra={"region": self.region})
            self.loop.call_soon_threadsafe(self.runner.cancel_all)
            self._wait_until_idle(grace)
        self.publisher.shutdown(wait=True)

    def _wait_until_idle(self, timeout: float | None) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.pending == 0, timeout=timeout)

    def close(self) -> None:
        """Stop the loop thread (after ``drain``, or abandoning what still runs)."""
        self.stopping.set()
        self.publisher.shutdown(wait=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()
