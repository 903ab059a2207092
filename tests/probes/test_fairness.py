"""A region worker shares its slots fairly between teams (probes.fairness), so one team's
slow targets slow only that team's checks; a check that cannot start before its round's
deadline is not run late but reported as the worker being overloaded."""

import asyncio
from datetime import UTC, datetime, timedelta

from probes.fairness import FairSlots
from probes.runner import OVERLOADED, Runner
from probes.spec import DOWN, ERROR, UP, batch_message
from tests.probes.conftest import make_spec, run_on_worker_loop
from tests.probes.test_engine import Inbox

# --- the slot rules, on their own --------------------------------------------------------


def run(coroutine):
    return run_on_worker_loop(coroutine)


async def take(slots, team, count, *, start_by=None):
    """Start ``count`` acquisitions for ``team``; returns their tasks after one loop turn."""
    tasks = [asyncio.ensure_future(slots.acquire(team, start_by=start_by)) for _ in range(count)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return tasks


def granted(tasks):
    return sum(1 for task in tasks if task.done() and task.result() is True)


def test_a_team_alone_takes_every_slot_but_the_reserve():
    async def main():
        slots = FairSlots(10)
        tasks = await take(slots, "slow", 12)
        return granted(tasks), slots.headroom

    assert run(main()) == (9, 1)


def test_a_team_with_no_check_in_flight_gets_a_reserved_slot_at_once_when_another_fills_the_rest():
    async def main():
        slots = FairSlots(10)
        await take(slots, "slow", 20)
        newcomer = await take(slots, "fast", 1)
        return granted(newcomer)

    assert run(main()) == 1


def test_freed_slots_go_to_the_team_below_its_share_not_to_the_one_above_it():
    async def main():
        slots = FairSlots(4, headroom=0)
        slow = await take(slots, "slow", 6)  # 4 granted, 2 waiting
        fast = await take(slots, "fast", 3)  # all waiting: no slot is free
        order = []
        for _ in range(4):
            slots.release("slow")
            await asyncio.sleep(0)
            order.append((granted(slow) - 4, granted(fast)))
        return order

    # Two teams busy: each may hold 2. "slow" holds 4, so the first two freed slots go to
    # "fast"; once "fast" holds its 2, the slots "slow" frees are its own again.
    assert run(main()) == [(0, 1), (0, 2), (1, 2), (2, 2)]


def test_waiting_teams_take_turns_for_freed_slots():
    async def main():
        slots = FairSlots(1, headroom=0)
        first = await take(slots, "a", 1)
        assert granted(first) == 1
        grants = []
        waiting = {team: await take(slots, team, 3) for team in ("a", "b", "c")}
        holder = "a"
        for _ in range(9):
            slots.release(holder)
            await asyncio.sleep(0)
            for team, tasks in waiting.items():
                if granted(tasks) > sum(1 for t in grants if t == team):
                    grants.append(team)
                    holder = team
        return grants

    assert run(main()) == ["a", "b", "c", "a", "b", "c", "a", "b", "c"]


def test_a_check_still_waiting_at_its_start_by_is_not_given_a_slot():
    async def main():
        slots = FairSlots(1, headroom=0)
        loop = asyncio.get_running_loop()
        await take(slots, "a", 1)
        late = await slots.acquire("b", start_by=loop.time() + 0.05)
        slots.release("a")
        return late, slots.in_use, slots.waiting_count()

    assert run(main()) == (False, 0, 0)


def test_a_check_cancelled_while_waiting_leaves_no_trace():
    async def main():
        slots = FairSlots(1, headroom=0)
        await take(slots, "a", 1)
        [waiting] = await take(slots, "b", 1)
        waiting.cancel()
        await asyncio.sleep(0)
        slots.release("a")
        return slots.in_use, slots.waiting_count(), dict(slots.held)

    assert run(main()) == (0, 0, {})


# --- real checks against loopback targets ------------------------------------------------


def run_batches(context, batches, *, concurrency):
    """Run several batches concurrently on one Runner, in the order given."""

    async def main():
        runner = Runner(context, concurrency=concurrency)
        tasks = []
        for specs, start_by in batches:
            loop_start_by = None if start_by is None else asyncio.get_running_loop().time() + start_by
            tasks.append(asyncio.ensure_future(runner.run_batch([s.to_dict() for s in specs], start_by=loop_start_by)))
            await asyncio.sleep(0.05)  # the next team's checks arrive after these took their slots
        return await asyncio.gather(*tasks)

    return run_on_worker_loop(main())


def test_one_teams_never_answering_targets_do_not_hold_back_another_teams_checks(probe_context, http_server):
    never = http_server.route("/never", hang=True)
    fine = http_server.route("/fine")
    slow_team = [make_spec(monitor_id=100 + i, team_id=2, target=never, timeout=1.5) for i in range(12)]
    good_team = [make_spec(monitor_id=i, team_id=1, target=fine) for i in range(20)]

    slow, good = run_batches(probe_context, [(slow_team, None), (good_team, None)], concurrency=10)

    assert {o.status for o in good} == {UP}
    assert {(o.status, o.cause) for o in slow} <= {(DOWN, "Timeout after 1.5 s"), (ERROR, OVERLOADED)}
    # Every check of the well-behaved team ended before the first never-answering one
    # timed out: none of them waited for a slow team's slot.
    assert max(o.checked_at for o in good) < min(o.checked_at for o in slow)


def test_a_check_that_finds_no_slot_before_its_start_by_is_not_run_and_says_the_worker_was_overloaded(
    probe_context, http_server
):
    never = http_server.route("/never", hang=True)
    fine = http_server.route("/fine")
    hogging = [make_spec(monitor_id=1, team_id=1, target=never, timeout=1.5)]
    starved = [make_spec(monitor_id=2, team_id=1, target=fine)]

    (hog,), (late,) = run_batches(probe_context, [(hogging, None), (starved, 0.2)], concurrency=1)

    assert (hog.status, hog.cause) == (DOWN, "Timeout after 1.5 s")
    assert (late.status, late.cause) == (ERROR, OVERLOADED)
    assert [request.path for request in http_server.requests] == ["/never"]


def test_an_engine_gives_a_batchs_checks_until_its_expiry_to_find_a_slot(authority, http_server):
    from probes.engine import Engine

    inbox = Inbox()
    engine = Engine(region="eu", concurrency=1, publish=inbox, allow_private_targets=True)
    try:
        never = http_server.route("/never", hang=True)
        fine = http_server.route("/fine")
        soon = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat()
        later = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
        engine.submit(
            batch_message(region="eu", specs=[make_spec(monitor_id=1, target=never, timeout=1.0)], expires_at=later)
        )
        engine.submit(batch_message(region="eu", specs=[make_spec(monitor_id=2, target=fine)], expires_at=soon))
        messages = inbox.wait_for(2)
    finally:
        engine.drain(5)
        engine.close()
    outcomes = {o["monitor_id"]: o for message in messages for o in message["outcomes"]}
    assert (outcomes[2]["status"], outcomes[2]["cause"]) == (ERROR, OVERLOADED)
    assert outcomes[1]["cause"] == "Timeout after 1 s"


def test_a_spec_with_an_odd_team_shares_one_queue_instead_of_failing_its_batch(probe_context, http_server):
    fine = http_server.route("/fine")
    odd = make_spec(monitor_id=1, target=fine).to_dict() | {"team_id": ["not", "a", "team"]}

    async def main():
        return await Runner(probe_context, concurrency=2).run_batch(
            [odd, make_spec(monitor_id=2, target=fine).to_dict()]
        )

    assert [o.status for o in run_on_worker_loop(main())] == [UP, UP]
