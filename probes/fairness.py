"""A region worker's check slots, shared fairly between teams.

One region worker runs every team's checks on ``concurrency`` slots. A plain semaphore
lets whoever queued first take them all: a team whose targets accept connections and
never answer would hold every slot for its whole timeout, and every other team's checks
would wait behind it. ``FairSlots`` hands out slots so that a team's slow targets slow
only that team's checks:

1. Each team's checks wait in their own FIFO queue; when a slot frees, the teams with
   waiting checks take turns (round-robin).
2. A team is served only while it holds fewer slots than its share: ``concurrency``
   divided by the number of teams with checks running or waiting (at least one slot).
3. The last ``headroom`` slots (a tenth of them) are kept for teams that hold fewer than
   ``headroom`` slots. Slots are never taken back from a running check, so without a
   reserve a team whose targets never answer could fill the worker while the others are
   between rounds, and their next checks would wait for its timeouts; with it, a team
   with few checks in flight always finds a slot at once, however many slots slow
   targets hold. (A team alone therefore uses at most ``concurrency - headroom``.)
4. A check still waiting at its ``start_by`` is not run (``acquire`` returns False): a
   check started that late would end after its round's deadline, so running it would
   only hold a slot for a vote nobody counts. The caller reports the worker overloaded.

Rules 2 and 3 are re-applied whenever a slot frees or a check arrives.
"""

import asyncio
import math
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

# The reserve of rule 3, as a fraction of the concurrency (none below ten slots).
HEADROOM_FRACTION = 0.1


@dataclass(eq=False)
class _Waiter:
    team: Any
    future: asyncio.Future[bool]
    timer: asyncio.TimerHandle | None = field(default=None)


class FairSlots:
    def __init__(self, concurrency: int, *, headroom: int | None = None) -> None:
        self.concurrency = concurrency
        self.headroom = int(concurrency * HEADROOM_FRACTION) if headroom is None else headroom
        self.in_use = 0
        self.held: Counter[Any] = Counter()  # team -> slots it holds
        # team -> its waiting checks; the dict's order is the turn order of rule 1.
        self.waiting: OrderedDict[Any, deque[_Waiter]] = OrderedDict()

    # --- the two calls a check makes ------------------------------------------------------

    async def acquire(self, team: Any, *, start_by: float | None = None) -> bool:
        """Wait for a slot for one of ``team``'s checks. True once the check holds it (it
        must call ``release``), False when ``start_by`` (loop time) passed first."""
        loop = asyncio.get_running_loop()
        if start_by is not None and loop.time() >= start_by:
            return False
        if not self.waiting and self._may_take(team):
            self._grant(team)
            return True
        waiter = _Waiter(team, loop.create_future())
        self.waiting.setdefault(team, deque()).append(waiter)
        if start_by is not None:
            waiter.timer = loop.call_at(start_by, self._expire, waiter)
        self._dispatch()
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled() and waiter.future.result():
                # Granted in the same loop iteration as the cancellation: give it back.
                self.release(team)
            else:
                self._forget(waiter)
            raise

    def release(self, team: Any) -> None:
        self.in_use -= 1
        self.held[team] -= 1
        if self.held[team] <= 0:
            del self.held[team]
        self._dispatch()

    # --- figures, for logs and tests -------------------------------------------------------

    def waiting_count(self) -> int:
        return sum(len(queue) for queue in self.waiting.values())

    def share_of(self, team: Any) -> int:
        """How many slots ``team`` may hold right now (rule 2)."""
        busy = set(self.held) | set(self.waiting) | {team}
        return max(1, math.ceil(self.concurrency / len(busy)))

    # --- the rules ------------------------------------------------------------------------

    def _may_take(self, team: Any) -> bool:
        held = self.held[team]
        if self.in_use >= self.concurrency or held >= self.share_of(team):
            return False
        # Rule 3: the reserve is for teams with few checks in flight.
        return self.in_use < self.concurrency - self.headroom or held < self.headroom

    def _grant(self, team: Any) -> None:
        self.in_use += 1
        self.held[team] += 1

    def _dispatch(self) -> None:
        """Hand free slots to waiting checks, teams taking turns (rules 1–3)."""
        while self.in_use < self.concurrency and self.waiting:
            for team in list(self.waiting):
                queue = self.waiting[team]
                # A check cancelled while waiting has its future cancelled at once; its
                # own clean-up runs one loop iteration later.
                while queue and queue[0].future.done():
                    self._drop_timer(queue.popleft())
                if not queue:
                    del self.waiting[team]
                    continue
                if self._may_take(team):
                    break
            else:
                return  # every waiting team is at its share
            queue = self.waiting[team]
            waiter = queue.popleft()
            if queue:
                self.waiting.move_to_end(team)  # its next check waits for the others' turns
            else:
                del self.waiting[team]
            self._drop_timer(waiter)
            self._grant(team)
            waiter.future.set_result(True)

    def _expire(self, waiter: _Waiter) -> None:
        """Rule 4: ``start_by`` came while the check was still waiting."""
        if waiter.future.done():
            return
        self._forget(waiter)
        waiter.future.set_result(False)

    @staticmethod
    def _drop_timer(waiter: _Waiter) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
            waiter.timer = None

    def _forget(self, waiter: _Waiter) -> None:
        self._drop_timer(waiter)
        queue = self.waiting.get(waiter.team)
        if queue is None:
            return
        try:
            queue.remove(waiter)
        except ValueError:
            return
        if not queue:
            del self.waiting[waiter.team]
