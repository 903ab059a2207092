"""The project's Redis cache (config.cache): Django's, with one client shared by every call
and thread of a process."""

import os
import threading

from django.conf import settings

from config.cache import ReusedClientRedisCache


def test_the_project_cache_is_the_shared_client_redis_cache_when_redis_is_configured():
    assert settings.CACHES["default"]["BACKEND"] == "config.cache.ReusedClientRedisCache"


def test_calls_from_many_threads_share_one_client_and_each_reads_its_own_values():
    cache = ReusedClientRedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-cache-client"})
    cache.get("warm")  # Django builds the backend's client holder lazily, unguarded by a lock
    clients, wrong, lock = set(), [], threading.Lock()

    def work(n):
        for i in range(50):
            cache.set(f"k{n}:{i}", (n, i), 30)
            found = cache.get_many([f"k{n}:{i}", f"k{n}:missing"])
            with lock:
                clients.add(id(cache._cache.get_client()))
                if found != {f"k{n}:{i}": (n, i)}:
                    wrong.append((n, i, found))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert wrong == [] and len(clients) == 1
    cache.delete_many([f"k{n}:{i}" for n in range(8) for i in range(50)])
