"""Per-token rate limit: ``PHAROS_API_RATE_LIMIT`` requests per minute (0 turns it off).

The count lives in a store every gunicorn worker shares — Redis (``REDIS_URL``) when set,
Django's cache otherwise — in a fixed one-minute window per token: one INCR per request,
and the key expires with its window. A store that cannot be reached lets the request
through (and logs): losing the limit for a moment beats refusing every API call.
"""

import logging
import math
import os
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
KEY_PREFIX = "pharos:api-rate"

_clients = {}


def _redis_client(url):
    client = _clients.get(url)
    if client is None:
        import redis

        # Short timeouts: a slow Redis must not hold an API request for long.
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        _clients[url] = client
    return client


def count_hit(key, *, ttl):
    """Add one to ``key`` in the shared store and return the new count (None if unreachable)."""
    url = os.environ.get("REDIS_URL", "").strip()
    try:
        if url:
            pipe = _redis_client(url).pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, ttl)
            count, _ = pipe.execute()
            return int(count)
        cache.add(key, 0, ttl)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, ttl)
            return 1
    except Exception:
        log.exception("rate-limit store unreachable; letting the request through")
        return None


class TokenRateThrottle(BaseThrottle):
    def __init__(self):
        self.retry_after = None

    def allow_request(self, request, view):
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

    def wait(self):
        return self.retry_after
