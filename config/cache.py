"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
operation; with redis-py 6 that construction (its table of response callbacks) cost about
110 µs, more than the round trip to Redis itself. On the public status page's cached path
(status.page_cache: one ``get_many`` per visitor) it was the largest single cost. A
``redis.Redis`` is safe to share between threads (each command takes a connection from
the pool), and the pool re-opens its connections after a fork, so one client per pool
serves every thread of a gunicorn worker. ``get_client`` is the extension point Django
leaves for custom clients (see its comment); everything else is Django's.
"""

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))  # the pools live as long as this object
        if client is None:
            with self._clients_lock:
                client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient  # Django sets its own client class in __init__
