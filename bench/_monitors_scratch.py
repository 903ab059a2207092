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
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
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


def create_monitors(count, *, frequency, regions, next_check_at, url="https://bench-{i}.example.com/", status="up"):
    """``count`` monitors in one team with one INSERT … SELECT FROM generate_series
    (100,000 rows in seconds, where bulk_create took a minute). ``{i}`` in ``url`` is the
    row's number; every other column gets the model's default. ``next_check_at`` is one
    time for all rows (or a function of the row number, the slower way)."""
    from django.db import connection
    from django.utils import timezone

    from monitors.models import Monitor
    from teams.models import Team

    team, _ = Team.objects.get_or_create(name="Bench")
    if callable(next_check_at):
        # The older signature (a due time per row number), kept for bench/health_and_metrics.py.
        rows = [
            Monitor(
                team=team,
                url=url.format(i=i),
                check_frequency=frequency,
                regions=list(regions),
                next_check_at=next_check_at(i),
                status=status,
            )
            for i in range(count)
        ]
        Monitor.objects.bulk_create(rows, batch_size=5000)
        return team
    fixed = {
        "team_id": team.pk,
        "check_frequency": frequency,
        "regions": list(regions),
        "next_check_at": next_check_at,
        "status": status,
        "created_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    columns, expressions, params = [], [], []
    for field in Monitor._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column == "url":
            expressions.append("replace(%s, '{i}', g::text)")
            params.append(url)
            continue
        value = fixed[field.column] if field.column in fixed else field.get_default()
        expressions.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Monitor._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(expressions)} FROM generate_series(0, %s) AS g",
            [*params, count - 1],
        )
    return team


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def mean(values):
    return statistics.fmean(values) if values else float("nan")
