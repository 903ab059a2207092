"""The runner: one outcome per check whatever happens, a bounded number of checks in
flight, deadlines that start when a check gets its slot, and event-loop lag."""

import asyncio
import time

from probes.runner import LagMeter, Runner
from probes.spec import ERROR, UP
from tests.probes.conftest import make_spec, run_on_worker_loop, run_probe


def run_batch(context, spec_dicts, *, concurrency):
    async def main():
        return await Runner(context, concurrency=concurrency).run_batch(spec_dicts)

    return run_on_worker_loop(main())


def test_an_unknown_monitor_type_is_an_error(probe_context):
    outcome = run_probe(probe_context, make_spec(type="carrier_pigeon", target="example.com"))
    assert (outcome.status, outcome.cause) == (ERROR, "Unknown monitor type 'carrier_pigeon'")


def test_no_more_checks_than_the_concurrency_run_at_once(probe_context, http_server):
    url = http_server.route("/", delay=0.05)
    specs = [make_spec(monitor_id=i, target=url).to_dict() for i in range(6)]
    outcomes = run_batch(probe_context, specs, concurrency=2)
    assert [o.status for o in outcomes] == [UP] * 6
    assert http_server.most_open_connections == 2


def test_waiting_for_a_slot_does_not_count_against_the_deadline(probe_context, http_server):
    url = http_server.route("/", delay=0.15)
    specs = [make_spec(monitor_id=i, target=url, timeout=0.6).to_dict() for i in range(4)]
    # Four 0.15 s checks one at a time take ~0.6 s in all; each alone is well within its deadline.
    outcomes = run_batch(probe_context, specs, concurrency=1)
    assert [o.status for o in outcomes] == [UP] * 4


def test_a_batch_returns_one_outcome_per_spec_in_order(probe_context, http_server):
    up = http_server.route("/up")
    down = http_server.route("/down", status=500)
    specs = [make_spec(monitor_id=1, target=up).to_dict(), make_spec(monitor_id=2, target=down).to_dict()]
    outcomes = run_batch(probe_context, specs, concurrency=10)
    assert [(o.monitor_id, o.status, o.region) for o in outcomes] == [(1, "up", "eu"), (2, "down", "eu")]


def test_a_malformed_spec_is_an_error_outcome_and_spares_the_rest(probe_context, http_server):
    good = make_spec(monitor_id=1, target=http_server.route("/")).to_dict()
    bad = {"monitor_id": 2, "scheduled_at": "2026-11-28T06:00:00+00:00"}  # no type, no target
    outcomes = run_batch(probe_context, [good, bad], concurrency=10)
    by_id = {o.monitor_id: o for o in outcomes}
    assert by_id[1].status == UP
    assert by_id[2].status == ERROR and by_id[2].cause.startswith("Malformed check spec")


def test_outcomes_round_trip_through_json(probe_context, http_server):
    import json

    from probes.spec import Outcome

    outcome = run_probe(probe_context, make_spec(target=http_server.route("/", status=503)))
    assert Outcome.from_dict(json.loads(json.dumps(outcome.to_dict()))) == outcome


def test_the_lag_meter_reports_a_blocked_event_loop():
    async def main():
        loop = asyncio.get_running_loop()
        meter = LagMeter(loop, interval=0.01)
        meter.start()
        started = loop.time()
        await asyncio.sleep(0.03)
        time.sleep(0.2)  # block the loop, as a saturated worker would
        await asyncio.sleep(0.03)
        meter.stop()
        return meter.worst_between(started, loop.time())

    assert run_on_worker_loop(main()) >= 0.15


def test_probes_also_run_on_asyncios_own_event_loop(probe_context, http_server, udp_server):
    # Region workers use uvloop when it is installed; without it they fall back to asyncio's loop.
    echo = udp_server(lambda data: data)
    specs = [
        make_spec(monitor_id=1, target=http_server.route("/")),
        make_spec(monitor_id=2, type="udp", target="127.0.0.1", ports=(echo.port,), body="hi", keyword="hi"),
        make_spec(monitor_id=3, type="tcp", target="127.0.0.1", ports=(http_server.port,)),
    ]

    async def main():
        assert type(asyncio.get_running_loop()).__module__.startswith("asyncio")
        return await Runner(probe_context, concurrency=5).run_batch([s.to_dict() for s in specs])

    assert [o.status for o in asyncio.run(main())] == [UP, UP, UP]


def test_a_spec_without_a_usable_timeout_still_gets_a_deadline():
    from probes.runner import DEFAULT_TIMEOUT, deadline_of

    assert [deadline_of(make_spec(target="x", timeout=t)) for t in (None, 0, -1, 2.5)] == [
        DEFAULT_TIMEOUT,
        DEFAULT_TIMEOUT,
        DEFAULT_TIMEOUT,
        2.5,
    ]
