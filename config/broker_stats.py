"""Read-only looks into the broker: is it up, how deep is a queue, how old is its oldest
message. Used by the health check and the metrics page; never consumes a message.

Both transports Pharos runs on are covered:

* Redis (``REDIS_URL``): kombu stores a queue as a Redis list named after the queue, plus
  one list per priority step (``<queue>\\x06\\x16<step>``); producers LPUSH and consumers
  BRPOP, so the oldest message sits at the right end (index -1).
* the on-disk quick-start broker: one file per message, ``<ms timestamp>_<uuid>.<queue>.msg``.

Every call is bounded by a short socket timeout so a dead broker makes the caller slow
by at most that much, never stuck.
"""

import base64
import json
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import redis

# kombu.transport.redis.PRIORITY_STEPS and Channel.sep; duplicated rather than imported
# because they are class attributes of a private channel class.
PRIORITY_STEPS = (0, 3, 6, 9)
PRIORITY_SEPARATOR = "\x06\x16"

_clients: dict[tuple[int, str, float], redis.Redis] = {}


def redis_client(url: str, *, timeout: float = 2.0) -> redis.Redis:
    """A Redis client for ``url`` with bounded socket timeouts, one per process and url."""
    key = (os.getpid(), url, timeout)
    client = _clients.get(key)
    if client is None:
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=0,
        )
        _clients[key] = client
    return client


def priority_lists(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


class Broker:
    """The broker of this deployment, as configured by config.broker.broker_settings()."""

    def __init__(
        self, broker_url: str, transport_options: dict[str, Any] | None = None, *, timeout: float = 2.0
    ) -> None:
        self.url = broker_url
        self.options = transport_options or {}
        self.timeout = timeout

    @classmethod
    def from_settings(cls, *, timeout: float = 2.0) -> "Broker":
        from django.conf import settings

        return cls(settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS, timeout=timeout)

    @property
    def is_redis(self) -> bool:
        return self.url.startswith(("redis://", "rediss://", "unix://"))

    @property
    def kind(self) -> str:
        return "redis" if self.is_redis else "filesystem"

    def client(self) -> redis.Redis:
        return redis_client(self.url, timeout=self.timeout)

    def ping(self) -> str:
        """Raise when the broker cannot take messages; return a short description otherwise."""
        if self.is_redis:
            self.client().ping()
            return "redis answered PING"
        folder = self.options.get("data_folder_in", "")
        if not folder or not os.path.isdir(folder):
            raise OSError(f"broker folder {folder!r} does not exist")
        if not os.access(folder, os.W_OK):
            raise OSError(f"broker folder {folder!r} is not writable")
        return "broker folder is writable"

    def depths(self, queues: Sequence[str]) -> dict[str, int]:
        """``{queue: messages waiting}`` for each queue (messages being worked on excluded)."""
        if self.is_redis:
            with self.client().pipeline(transaction=False) as pipe:
                for queue in queues:
                    for name in priority_lists(queue):
                        pipe.llen(name)
                sizes = pipe.execute()
            steps = len(PRIORITY_STEPS)
            return {queue: sum(sizes[i * steps : (i + 1) * steps]) for i, queue in enumerate(queues)}
        counts = dict.fromkeys(queues, 0)
        for name in self._message_files():
            queue = _queue_of_file(name)
            if queue in counts:
                counts[queue] += 1
        return counts

    def oldest_message(self, queue: str) -> Any:
        """The decoded body of the oldest waiting message of ``queue``, or None."""
        if self.is_redis:
            client = self.client()
            # Pharos sends at the default priority, whose list comes first; the other
            # priority lists are looked at only when it is empty.
            candidates = [client.lindex(name, -1) for name in priority_lists(queue)]
            # A synchronous client answers bytes, or None for an empty list.
            payloads = [_decode_payload(raw) for raw in candidates if isinstance(raw, bytes | str)]
            return payloads[0] if payloads else None
        files = sorted(name for name in self._message_files() if _queue_of_file(name) == queue)
        if not files:
            return None
        try:
            with open(os.path.join(self.options["data_folder_in"], files[0]), "rb") as handle:
                return _decode_payload(handle.read())
        except OSError:
            # Consumed between listing and reading: the queue moved on, which is fine.
            return None

    def _message_files(self) -> list[str]:
        folder = self.options.get("data_folder_in", "")
        try:
            return [name for name in os.listdir(folder) if name.endswith(".msg")]
        except OSError:
            return []


def _queue_of_file(name: str) -> str:
    # "<timestamp>_<uuid>.<queue>.msg": queue names may contain dots (probe.eu).
    stem = name[: -len(".msg")]
    _, _, rest = stem.partition(".")
    return rest


def _decode_payload(raw: bytes | str) -> Any:
    """The task arguments of a kombu message: ``[args, kwargs, embed]`` for Celery's
    protocol 2. Returns None for anything it cannot read."""
    try:
        envelope = json.loads(raw)
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        return json.loads(body)
    except (ValueError, KeyError, TypeError):
        return None


def newest_checked_at(payload: object) -> datetime | None:
    """The latest ``checked_at`` among the outcomes inside a results message payload.

    The results message (probes.spec.results_message) is a dict with an ``outcomes`` list;
    it may be passed positionally or by keyword, so look for it anywhere in the payload.
    """
    found: list[str] = []

    def walk(value: object, depth: int = 0) -> None:
        if depth > 4:
            return
        if isinstance(value, dict):
            if isinstance(value.get("outcomes"), list):
                for outcome in value["outcomes"]:
                    if isinstance(outcome, dict) and outcome.get("checked_at"):
                        found.append(outcome["checked_at"])
            for item in value.values():
                walk(item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                walk(item, depth + 1)

    walk(payload)
    moments = []
    for text in found:
        try:
            moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            continue
        if moment.tzinfo is not None:
            moments.append(moment)
    return max(moments) if moments else None
