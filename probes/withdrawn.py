"""Monitors withdrawn from checking (paused or deleted), told to the region workers.

The scheduler never dispatches a paused or deleted monitor, but checks already queued
for it would still run, and a deleted team's backlog of never-answering targets would
go on holding slots. A region worker has no database, only the broker, so the control
plane writes the withdrawals next to the broker and the workers read them:

* Redis (``REDIS_URL``): a sorted set ``pharos:withdrawn`` (monitor id → epoch seconds of
  the withdrawal) and a counter ``pharos:withdrawn:version``, written in one MULTI. A
  worker reads the counter every second and the set only when the counter moved.
* the quick start's on-disk broker: ``withdrawn.json`` next to the broker's folders,
  replaced atomically under a lock; its modification time and size are the version.
  Region workers of the quick start run on the same machine, so they read it just the
  same; should it be unreadable, checks simply run as they did before (nothing worse).

A check is withdrawn when its monitor is listed and its round was scheduled no later
than the withdrawal: a resumed monitor's new rounds run. Entries older than
``RETENTION`` are pruned on every write — only checks queued before the withdrawal can
carry the monitor, and those expire within seconds.

Standard library and redis-py only: region workers import this without Django.
"""

import fcntl
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KEY = "pharos:withdrawn"
VERSION_KEY = "pharos:withdrawn:version"
FILE_NAME = "withdrawn.json"
RETENTION = 3600.0  # seconds a withdrawal is remembered
TIMEOUT = 2.0  # seconds for any one Redis call: never stuck on a dead broker


class WithdrawnMonitors:
    """Where withdrawals are kept for this broker (see the module docstring)."""

    def withdraw(self, monitor_ids: list[int], *, at: float) -> None:
        raise NotImplementedError

    def version(self) -> object:
        raise NotImplementedError

    def read(self) -> dict[int, float]:
        raise NotImplementedError

    @staticmethod
    def for_broker(broker_url: str, transport_options: dict[str, Any] | None = None) -> "WithdrawnMonitors":
        if broker_url.startswith(("redis://", "rediss://", "unix://")):
            return RedisWithdrawn(broker_url)
        folder = (transport_options or {}).get("data_folder_in")
        if not folder:
            raise ValueError("the on-disk broker names no data folder")
        return FileWithdrawn(Path(folder).parent / FILE_NAME)


class RedisWithdrawn(WithdrawnMonitors):
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)

    def withdraw(self, monitor_ids: list[int], *, at: float) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zadd(KEY, {str(pk): at for pk in monitor_ids})
            pipe.zremrangebyscore(KEY, "-inf", at - RETENTION)
            pipe.incr(VERSION_KEY)
            pipe.execute()

    def version(self) -> object:
        version: object = self.client.get(VERSION_KEY)
        return version

    def read(self) -> dict[int, float]:
        rows: list[tuple[bytes, float]] = self.client.zrange(KEY, 0, -1, withscores=True)  # type: ignore[assignment]
        return {int(member): float(score) for member, score in rows}


class FileWithdrawn(WithdrawnMonitors):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def withdraw(self, monitor_ids: list[int], *, at: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Web processes write concurrently: read-modify-write under an exclusive lock.
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = {pk: seen for pk, seen in self._load().items() if seen >= at - RETENTION}
            entries.update({int(pk): at for pk in monitor_ids})
            scratch = self.path.with_suffix(f".{os.getpid()}.tmp")
            scratch.write_text(json.dumps({str(pk): seen for pk, seen in entries.items()}))
            os.replace(scratch, self.path)  # readers see the old file or the new one, never half

    def version(self) -> object:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def read(self) -> dict[int, float]:
        return self._load()

    def _load(self) -> dict[int, float]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            log.warning("ignoring an unreadable %s", self.path)
            return {}
        return {int(pk): float(seen) for pk, seen in raw.items()}


class WithdrawnCache:
    """A region worker's view of the withdrawals: ``refresh()`` at most every
    ``interval`` seconds, re-reading the set only when its version moved."""

    def __init__(self, store: WithdrawnMonitors, *, interval: float = 1.0) -> None:
        self.store = store
        self.interval = interval
        self.known_version: object = object()  # matches nothing: the first refresh reads
        self.checked_at = float("-inf")
        self.failing = False

    def refresh(self, *, now: float | None = None) -> dict[int, float] | None:
        """The new mapping when it changed, else None. Never raises: with the store away,
        the worker keeps what it knew (and checks run, as they did before withdrawals)."""
        now = time.monotonic() if now is None else now
        if now - self.checked_at < self.interval:
            return None
        self.checked_at = now
        try:
            version = self.store.version()
            if version == self.known_version:
                return None
            entries = self.store.read()
        except Exception as error:  # noqa: BLE001 - the broker is away; retry next interval
            if not self.failing:
                log.warning("cannot read the withdrawn monitors: %s", error)
            self.failing = True
            return None
        if self.failing:
            log.info("reading the withdrawn monitors again")
        self.failing = False
        self.known_version = version
        return entries
