"""Shared set-up of the monitors benchmarks (bench/scheduler.py, bench/pipeline.py):
a scratch PostgreSQL database on DATABASE_URL's server, migrated, dropped at the end,
and a Redis database of its own for the broker (PHAROS_BENCH_REDIS_URL, default db 13)."""

import contextlib
import os
import statistics
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def with_database(url, name):
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin_connection(url):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password or None, dbname="postgres", autocommit=True,
    )


@contextlib.contextmanager
def scratch_django(label, **extra_env):
    """Create and migrate ``pharos_bench_<label>_<pid>``, set Django up on it, drop it after."""
    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/pharos"
    redis_url = os.environ.get("PHAROS_BENCH_REDIS_URL") or "redis://127.0.0.1:6379/13"
    scratch = f"pharos_bench_{label}_{os.getpid()}"
    with admin_connection(server_url) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        os.environ.update(
            DATABASE_URL=with_database(server_url, scratch),
            REDIS_URL=redis_url,
            SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-secret-key",
            PHAROS_IGNORE_DOTENV="1",
            DJANGO_SETTINGS_MODULE="config.settings",
            LOG_LEVEL="WARNING",
            **extra_env,
        )
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        yield os.environ["DATABASE_URL"]
    finally:
        from django.db import connections

        connections.close_all()
        with admin_connection(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(redis_url).flushdb()


def create_monitors(count, *, frequency, regions, next_check_at, url="https://bench-{i}.example.com/"):
    """``count`` monitors in one team, inserted in batches. ``next_check_at(i)`` sets phases."""
    from monitors.models import Monitor
    from teams.models import Team

    team, _ = Team.objects.get_or_create(name="Bench")
    batch = []
    for i in range(count):
        batch.append(Monitor(team=team, url=url.format(i=i), check_frequency=frequency, regions=list(regions),
                             next_check_at=next_check_at(i), status="up"))
        if len(batch) == 5000:
            Monitor.objects.bulk_create(batch)
            batch = []
    Monitor.objects.bulk_create(batch)
    return team


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def mean(values):
    return statistics.fmean(values) if values else float("nan")
