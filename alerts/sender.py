"""The alert sender: many deliveries at once, each bounded in time, none able to block another.

One asyncio loop in a thread of the alert worker process. The ``alerts.deliver`` task
hands it the outbox ids of one transition (``submit``) and returns at once, so the worker
keeps taking ids as fast as they are enqueued: a row is started the moment its
transaction commits, with no polling of the outbox. For each batch of ids the sender

1. reads where each row goes and whose it is (``delivery.routes_of``, one query for the
   batch: a receiver's origin, the SMTP server, a provider; the incident's team) and, per
   row, waits for a slot of that destination (``PHAROS_ALERT_PER_DESTINATION``), then for
   one of the process's slots (``PHAROS_ALERT_CONCURRENCY``) — in that order, so rows
   queued behind a slow receiver hold no process slot and a fast channel never waits
   behind them. The process's slots are shared fairly between teams
   (``probes.fairness.FairSlots``, as a region worker shares its check slots): a slot is
   never taken back from a send in flight, so without it one team with enough hanging
   receivers (25 destinations at 4 each fill 100 slots) would hold every slot for a whole
   deadline and every other team's alerts would wait; with it, a tenth of the slots stay
   for teams with few sends in flight, and another team's alert starts at once;
2. claims the row with the conditional UPDATE … RETURNING (``delivery.start``) only once
   it holds both, so no claim ages while it waits;
3. sends within ``PHAROS_ALERT_DEADLINE`` (``delivery.attempt``) and records the outcome.

Database work runs on a small thread pool (Django's ORM is synchronous; each thread keeps
its own connection), sends on the loop. On a warm shutdown (``stop``) the sender takes
nothing new, lets sends in flight finish within their deadline, and puts any row it had
claimed but not sent back in the outbox (``delivery.release``); rows it had not claimed
are still pending and the escalation tick's sweeper enqueues them again — never lost, and
never sent twice by this process.
"""

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from alerts import delivery
from probes.fairness import HEADROOM_FRACTION, FairSlots

log = logging.getLogger(__name__)

T = TypeVar("T")

# Threads for the ORM: psycopg releases the GIL while PostgreSQL works, so a burst of
# alerts overlaps its claims and records instead of queueing behind a few threads.
DATABASE_THREADS = 16
# Django's per-"request" connection check (CONN_HEALTH_CHECKS costs a round trip) once
# per thread per this many seconds, not before every claim and record.
CONNECTION_CHECK_EVERY = 5.0
MAX_WAITING = 10_000  # ids held in memory before ``submit`` makes the worker wait


class DestinationSlots:
    """One semaphore per destination, dropped again once nobody holds or waits for it."""

    def __init__(self, per_destination: int) -> None:
        self.per_destination = per_destination
        self.semaphores: dict[str, asyncio.Semaphore] = {}
        self.users: dict[str, int] = {}

    async def acquire(self, key: str) -> None:
        self.users[key] = self.users.get(key, 0) + 1
        semaphore = self.semaphores.setdefault(key, asyncio.Semaphore(self.per_destination))
        try:
            await semaphore.acquire()
        except BaseException:
            self._leave(key)
            raise

    def release(self, key: str) -> None:
        self.semaphores[key].release()
        self._leave(key)

    def _leave(self, key: str) -> None:
        self.users[key] -= 1
        if not self.users[key]:
            del self.users[key], self.semaphores[key]


class Sender:
    def __init__(
        self,
        *,
        concurrency: int | None = None,
        per_destination: int | None = None,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self.concurrency = concurrency or settings.PHAROS_ALERT_CONCURRENCY
        self.per_destination = per_destination or settings.PHAROS_ALERT_PER_DESTINATION
        self.room = threading.BoundedSemaphore(max_waiting)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.database = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="alert-db")
        self.tasks: dict[int, asyncio.Task] = {}  # ids waiting or in flight here
        self.in_flight: set[int] = set()  # of them, the ids claimed by this sender
        self.lookups: set[asyncio.Task] = set()  # batches' route queries still running
        self.returned = 0  # claimed rows put back in the outbox by a shutdown
        self.closing = False
        self.checked = threading.local()  # when each database thread last checked its connection

    # --- the worker's side (any thread) ---------------------------------------------------

    def start(self) -> "Sender":
        self.thread = threading.Thread(target=self._run, name="alert-sender", daemon=True)
        self.thread.start()
        self.ready.wait()
        log.info(
            "alert sender started: %s deliveries at once, %s per destination, %g s each at most",
            self.concurrency,
            self.per_destination,
            delivery.deadline(),
        )
        return self

    def submit(self, *notification_ids: int) -> None:
        """Take outbox ids; returns at once unless MAX_WAITING ids are already held."""
        ids = [int(notification_id) for notification_id in notification_ids]
        for _ in ids:
            self.room.acquire()
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._accept, ids)

    def stop(self, grace: float | None = None) -> None:
        """Warm shutdown: nothing new; sends in flight get until their deadline to finish."""
        if self.loop is None or self.closing:
            return
        grace = delivery.deadline() + 5 if grace is None else grace
        future = asyncio.run_coroutine_threadsafe(self._drain(grace), self.loop)
        try:
            future.result(timeout=grace + 30)
        except Exception:
            log.exception("alert sender: could not stop cleanly")
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread:
            self.thread.join(timeout=10)
        self._close_database_connections()
        self.database.shutdown(wait=True, cancel_futures=False)
        log.info("alert sender stopped; %s claimed rows went back to the outbox", self.returned)

    def _close_database_connections(self) -> None:
        # Each pool thread holds its own connection: one task per thread closes it (the
        # barrier keeps a thread from taking two while another takes none).
        barrier = threading.Barrier(DATABASE_THREADS, timeout=10)

        def close() -> None:
            connections.close_all()
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass

        for future in [self.database.submit(close) for _ in range(DATABASE_THREADS)]:
            future.result(timeout=15)

    def busy(self) -> int:
        """Ids waiting or in flight (for tests and logs)."""
        return len(self.tasks)

    # --- the loop's side ------------------------------------------------------------------

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        # At least one slot in reserve (FairSlots keeps none below ten): a team alone never
        # holds them all, so another team's first alert always finds one.
        self.slots = FairSlots(self.concurrency, headroom=max(1, int(self.concurrency * HEADROOM_FRACTION)))
        self.destinations = DestinationSlots(self.per_destination)
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def _accept(self, notification_ids: list[int]) -> None:
        fresh: list[int] = []
        for notification_id in notification_ids:
            if self.closing or notification_id in self.tasks or notification_id in fresh:
                # Already here (a sweep re-enqueued it), or shutting down (it stays pending).
                self.room.release()
            else:
                fresh.append(notification_id)
        if not fresh:
            return
        loop = asyncio.get_running_loop()
        # One query for the whole batch's destinations, shared by its rows' tasks.
        lookup = loop.create_task(self._in_database(delivery.routes_of, fresh))
        lookup.add_done_callback(_retrieve)
        self.lookups.add(lookup)
        lookup.add_done_callback(self.lookups.discard)
        for notification_id in fresh:
            task = loop.create_task(self._deliver(notification_id, lookup))
            self.tasks[notification_id] = task
            task.add_done_callback(functools.partial(self._forget, notification_id=notification_id))

    def _forget(self, task: asyncio.Task, *, notification_id: int) -> None:
        self.tasks.pop(notification_id, None)
        self.in_flight.discard(notification_id)
        self.room.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("notification %s: the sender failed", notification_id, exc_info=task.exception())

    async def _in_database(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            now = time.monotonic()
            if now - getattr(self.checked, "at", float("-inf")) >= CONNECTION_CHECK_EVERY:
                close_old_connections()
                self.checked.at = now
            return function(*args, **kwargs)

        assert self.loop is not None
        return await self.loop.run_in_executor(self.database, call)

    async def _deliver(self, notification_id: int, lookup: "asyncio.Future[dict[int, tuple[str, int]]]") -> None:
        # Shielded: a shutdown cancelling this row must not cancel its neighbours' lookup.
        route = (await asyncio.shield(lookup)).get(notification_id)
        if route is None:  # the row is gone
            return
        key, team = route
        await self.destinations.acquire(key)
        try:
            async with self._slot_of(team):
                if self.closing:
                    return
                # Shielded: a claim made in the database thread is never left unknown here.
                self.in_flight.add(notification_id)
                send = await asyncio.shield(self._in_database(delivery.start, notification_id, now=timezone.now()))
                if not isinstance(send, delivery.Send):
                    return
                try:
                    if self.closing:
                        raise asyncio.CancelledError  # claimed as the shutdown began: not sent
                    error = await delivery.attempt(send)
                except asyncio.CancelledError:
                    # Stopped before or mid-send by a shutdown whose grace ran out: the row
                    # goes back (a receiver that got it drops the repeat by X-Pharos-Delivery).
                    if await asyncio.shield(self._in_database(delivery.release, send, now=timezone.now())):
                        self.returned += 1
                    raise
        finally:
            self.destinations.release(key)
        # Recorded after both slots are free: the next row for this destination is not
        # kept waiting by our bookkeeping (a burst to one receiver drains faster).
        await asyncio.shield(self._in_database(delivery.finish, send, error, now=timezone.now()))

    @contextlib.asynccontextmanager
    async def _slot_of(self, team: int) -> AsyncIterator[None]:
        await self.slots.acquire(team)
        try:
            yield
        finally:
            self.slots.release(team)

    async def _drain(self, grace: float) -> None:
        """Stop taking ids; drop those still waiting for a slot (unclaimed, they stay
        pending); give sends in flight ``grace`` seconds, then cancel them (their claims go back)."""
        self.closing = True
        for notification_id, task in list(self.tasks.items()):
            if notification_id not in self.in_flight:
                task.cancel()
        if self.lookups:
            # Queries already in a database thread: let them end before the loop stops.
            await asyncio.wait(set(self.lookups), timeout=10)
        pending = set(self.tasks.values())
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=10)


def _retrieve(future: asyncio.Future) -> None:
    """Mark a shared lookup's failure as seen: the rows' own tasks log it, once each."""
    if not future.cancelled():
        future.exception()


_running: Sender | None = None
_running_lock = threading.Lock()


def running() -> Sender:
    """This process's sender, started on first use (in the worker process that uses it)."""
    global _running
    with _running_lock:
        if _running is None:
            _running = Sender().start()
        return _running


def stop_running(grace: float | None = None) -> None:
    global _running
    with _running_lock:
        sender, _running = _running, None
    if sender is not None:
        sender.stop(grace)
