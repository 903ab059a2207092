"""Paused and deleted monitors, as region workers learn them (probes.withdrawn): where the
control plane writes them, how a worker reads them, and the checks it then does not run."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from probes.runner import WITHDRAWN, Runner
from probes.spec import ERROR, UP
from probes.withdrawn import RETENTION, FileWithdrawn, RedisWithdrawn, WithdrawnCache, WithdrawnMonitors
from tests.probes.conftest import make_spec, run_on_worker_loop
from tests.probes.servers import free_port


@pytest.fixture(params=["redis", "file"])
def store(request, tmp_path):
    if request.param == "redis":
        request.getfixturevalue("clean_redis")
        return RedisWithdrawn(request.getfixturevalue("redis_url"))
    return FileWithdrawn(tmp_path / "withdrawn.json")


def test_withdrawals_are_read_back_with_their_moment(store):
    store.withdraw([7, 8], at=1000.0)
    store.withdraw([9], at=1001.5)
    assert store.read() == {7: 1000.0, 8: 1000.0, 9: 1001.5}


def test_every_withdrawal_moves_the_version(store):
    before = store.version()
    store.withdraw([7], at=1000.0)
    after = store.version()
    store.withdraw([7], at=1000.0)
    assert before != after != store.version()


def test_withdrawals_older_than_the_retention_are_pruned_on_the_next_write(store):
    store.withdraw([1], at=1000.0)
    store.withdraw([2], at=1000.0 + RETENTION + 1)
    assert store.read() == {2: 1000.0 + RETENTION + 1}


def test_the_store_follows_the_broker(tmp_path, redis_url):
    assert isinstance(WithdrawnMonitors.for_broker(redis_url), RedisWithdrawn)
    on_disk = WithdrawnMonitors.for_broker("filesystem://", {"data_folder_in": str(tmp_path / "out")})
    assert isinstance(on_disk, FileWithdrawn) and on_disk.path == tmp_path / "withdrawn.json"


def test_the_cache_rereads_only_when_the_version_moved(store):
    cache = WithdrawnCache(store, interval=1.0)
    assert cache.refresh(now=0.0) == {}
    store.withdraw([5], at=1000.0)
    assert cache.refresh(now=0.5) is None  # within the interval: not even asked
    assert cache.refresh(now=1.0) == {5: 1000.0}
    assert cache.refresh(now=2.0) is None  # asked, unchanged


def test_a_cache_whose_broker_is_away_keeps_what_it_knew_and_never_raises():
    cache = WithdrawnCache(RedisWithdrawn(f"redis://127.0.0.1:{free_port()}/0"), interval=0)
    assert cache.refresh() is None
    assert cache.failing


# --- the runner ------------------------------------------------------------------------

NOW = datetime.now(UTC)


def at(moment):
    return moment.isoformat()


def test_a_check_of_a_round_scheduled_before_the_withdrawal_is_not_started(probe_context, http_server):
    url = http_server.route("/")

    async def main():
        runner = Runner(probe_context, concurrency=5)
        runner.withdrawn = {1: NOW.timestamp()}
        return await runner.run_check(make_spec(monitor_id=1, scheduled_at=at(NOW - timedelta(seconds=5)), target=url))

    outcome = run_on_worker_loop(main())
    assert (outcome.status, outcome.cause) == (ERROR, WITHDRAWN)
    assert http_server.requests == []


def test_a_round_scheduled_after_the_withdrawal_belongs_to_a_resumed_monitor_and_runs(probe_context, http_server):
    url = http_server.route("/")

    async def main():
        runner = Runner(probe_context, concurrency=5)
        runner.withdrawn = {1: NOW.timestamp()}
        return await runner.run_check(make_spec(monitor_id=1, scheduled_at=at(NOW + timedelta(seconds=5)), target=url))

    assert run_on_worker_loop(main()).status == UP


def test_withdrawing_cuts_running_and_waiting_checks_short(probe_context, http_server):
    never = http_server.route("/never", hang=True)
    scheduled = at(NOW)
    specs = [make_spec(monitor_id=i, team_id=3, scheduled_at=scheduled, target=never, timeout=5.0) for i in range(4)]

    async def main():
        runner = Runner(probe_context, concurrency=2)
        batch = asyncio.ensure_future(runner.run_batch([s.to_dict() for s in specs]))
        while len(http_server.requests) < 2:
            await asyncio.sleep(0.01)
        runner.withdraw({i: NOW.timestamp() + 1 for i in range(4)})
        return await batch

    outcomes = run_on_worker_loop(main())
    assert [(o.monitor_id, o.status, o.cause) for o in outcomes] == [(i, ERROR, WITHDRAWN) for i in range(4)]
    assert len(http_server.requests) == 2  # the two that were waiting never started
