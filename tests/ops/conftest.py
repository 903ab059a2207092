"""Fixtures of the fault tests: a PostgreSQL and a Redis of their own (session-wide), a
fresh database per test cloned from a migrated template, and Pharos started the way
`make run` starts it."""

import shutil
import uuid

import pytest

from tests.ops.servers import LoopbackSite, PostgresServer, RedisServer, postgres_bin_dir
from tests.ops.system import Database, PharosSystem

TEMPLATE = "pharos_fault_template"


@pytest.fixture(scope="session")
def fault_servers(tmp_path_factory):
    if postgres_bin_dir() is None or not shutil.which("redis-server"):
        pytest.skip("the fault tests need the PostgreSQL server binaries and redis-server")
    postgres = PostgresServer()
    redis = RedisServer()
    try:
        postgres.init().start()
        redis.start()
        postgres.psql(f"CREATE DATABASE {TEMPLATE}")
        # Migrate once; each test clones the result (CREATE DATABASE … TEMPLATE is a file copy).
        PharosSystem(
            database_url=f"{postgres.url_prefix}/{TEMPLATE}",
            redis_url=redis.url,
            workdir=tmp_path_factory.mktemp("template"),
        ).manage("migrate", "--noinput")
        yield postgres, redis
    finally:
        redis.destroy()
        postgres.destroy()


@pytest.fixture
def loopback_site():
    site = LoopbackSite().start()
    yield site
    site.close()


@pytest.fixture
def pharos(fault_servers, tmp_path, request):
    """A Pharos system (not yet started) on a fresh database and an emptied Redis."""
    postgres, redis = fault_servers
    if not postgres.is_running():
        postgres.start()
    if not redis.answers():
        redis.start()
    name = f"pharos_fault_{uuid.uuid4().hex[:10]}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    import redis as redis_lib

    redis_lib.Redis.from_url(redis.url).flushall()
    system = PharosSystem(database_url=f"{postgres.url_prefix}/{name}", redis_url=redis.url, workdir=tmp_path)
    system.db = Database(system.database_url)
    try:
        yield system
    finally:
        system.stop()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(f"--- last lines of the Pharos log ({system.log_path}) ---\n{system.log_tail()}")
        if not postgres.is_running():
            postgres.start()
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
