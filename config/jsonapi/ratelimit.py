"""Per-token rate limit: ``PHAROS_API_RATE_LIMIT`` requests per minute (0 turns it off).

The count lives in a store every gunicorn worker shares — Redis (``REDIS_URL``) when set,
Django's cache otherwise — in a fixed one-minute window per token: one INCR per request,
and the key expires with its window. Django's default cache lives inside one process, so
when that is all there is (the quick start) the count goes to a file cache under ``var/``,
which every process on the machine shares. A store that cannot be reached lets the request
through (and logs): losing the limit for a moment beats refusing every API call.
"""

import logging
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
KEY_PREFIX = "pharos:api-rate"

_clients: dict[str, "redis.Redis"] = {}
_file_cache: BaseCache | None = None


def _redis_client(url: str) -> "redis.Redis":
    client = _clients.get(url)
    if client is None:
        import redis

        # Short timeouts: a slow Redis must not hold an API request for long.
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        _clients[url] = client
    return client


def shared_cache() -> BaseCache:
    """Django's cache when it is shared between processes, else a file cache under var/."""
    global _file_cache
    if not isinstance(caches[DEFAULT_CACHE_ALIAS], LocMemCache):
        return caches[DEFAULT_CACHE_ALIAS]
    if _file_cache is None:
        _file_cache = FileBasedCache(str(Path(settings.BASE_DIR) / "var" / "ratelimit"), {})
    return _file_cache


def count_hit(key: str, *, ttl: int) -> int | None:
    """Add one to ``key`` in the shared store and return the new count (None if unreachable)."""
    url = os.environ.get("REDIS_URL", "").strip()
    try:
        if url:
            pipe = _redis_client(url).pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, ttl)
            count, _ = pipe.execute()
            return int(count)
        store = shared_cache()
        store.add(key, 0, ttl)
        try:
            return store.incr(key)
        except ValueError:  # evicted between add and incr
            store.set(key, 1, ttl)
            return 1
    except Exception:
        log.exception("rate-limit store unreachable; letting the request through")
        return None


class TokenRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit = settings.PHAROS_API_RATE_LIMIT
        token = getattr(request, "auth", None)
        if not limit or token is None:
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        # The hash, not the row id: ids restart when a database is recreated, hashes never repeat.
        key = f"{KEY_PREFIX}:{token.token_hash[:32]}:{window}"
        count = count_hit(key, ttl=WINDOW_SECONDS + 1)
        if count is None or count <= limit:
            return True
        self.retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        return False

    def wait(self) -> int | None:
        return self.retry_after
