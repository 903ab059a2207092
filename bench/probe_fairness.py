"""One team's never-answering targets against another team's checks, on one region worker.

    .venv/bin/python bench/probe_fairness.py [--seconds 20]

A region worker's engine (probes.engine, PHAROS_PROBE_CONCURRENCY 100) runs, for
``--seconds`` seconds, the checks a well-behaved team sends (200 monitors every 5 s: a
batch of 40 checks each second, against a loopback target that answers at once), in
three scenarios measured in this run:

  (a) clean: that team alone — the baseline;
  (b) fair share: plus a second team's 120 monitors every 10 s against a target that
      accepts connections and never answers (their checks time out after 10 s);
  (c) one shared queue: the same two teams with the team left out of the specs, which
      is what a region worker did before it shared slots by team (and still does for
      specs from a control plane that does not name teams).

Every batch carries the scheduler's 10 s expiry, so a check that cannot start within 10 s
is not run (the worker reports itself overloaded). For the well-behaved team it prints the
checks run, the checks not run, and the p50/p99 wait from a batch's admission to each
check's end. Bounded: at most ``--seconds`` of sending plus 15 s of draining per scenario.
"""

import argparse
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from probes.engine import Engine  # noqa: E402
from probes.runner import OVERLOADED  # noqa: E402
from probes.spec import CheckSpec, batch_message  # noqa: E402
from tests.probes.servers import HttpServer, ServerLoop  # noqa: E402

CONCURRENCY = 100
GOOD_PER_SECOND = 40  # 200 monitors every 5 s
BAD_MONITORS = 120
BAD_EVERY = 10.0  # seconds; their timeout too (a timeout never exceeds the frequency)
QUEUE_SLACK = 10.0  # seconds a batch may wait, as monitors.scheduler sends them
BATCH = 100
DRAIN = 15.0


class Inbox:
    def __init__(self):
        self.outcomes = []
        self.lock = threading.Lock()

    def __call__(self, message):
        with self.lock:
            self.outcomes.extend(message["outcomes"])


def batches(specs):
    expires_at = (datetime.now(UTC) + timedelta(seconds=QUEUE_SLACK)).isoformat()
    for start in range(0, len(specs), BATCH):
        yield batch_message(region="eu", specs=specs[start : start + BATCH], expires_at=expires_at)


def scenario(*, fine, never, seconds, bad_team, teams):
    inbox = Inbox()
    engine = Engine(region="eu", concurrency=CONCURRENCY, publish=inbox, allow_private_targets=True)
    admitted = {}  # scheduled_at key -> monotonic time the batch was admitted
    started = time.monotonic()
    next_bad = started
    tick = 0
    try:
        while time.monotonic() - started < seconds:
            now = time.monotonic()
            if bad_team and now >= next_bad:
                key = f"bad-{tick}"
                specs = [
                    CheckSpec(
                        monitor_id=10_000 + i,
                        scheduled_at=key,
                        type="status",
                        target=never,
                        timeout=BAD_EVERY,
                        team_id=2 if teams else None,
                    )
                    for i in range(BAD_MONITORS)
                ]
                for message in batches(specs):
                    engine.submit(message)
                next_bad += BAD_EVERY
            key = f"2026-01-01T00:00:{tick:02d}+00:00"
            specs = [
                CheckSpec(monitor_id=i, scheduled_at=key, type="status", target=fine, team_id=1 if teams else None)
                for i in range(GOOD_PER_SECOND)
            ]
            admitted[key] = time.monotonic()
            for message in batches(specs):
                engine.submit(message)
            tick += 1
            time.sleep(max(0.0, started + tick - time.monotonic()))
    finally:
        engine.drain(DRAIN)
        engine.close()
    good = [o for o in inbox.outcomes if o["monitor_id"] < 10_000]
    ran = [o for o in good if o["status"] == "up"]
    waits = sorted(
        (datetime.fromisoformat(o["checked_at"]).timestamp() - wall(admitted[o["scheduled_at"]])) * 1000 for o in ran
    )
    return {
        "sent": tick * GOOD_PER_SECOND,
        "ran": len(ran),
        "not run (overloaded)": sum(1 for o in good if o["cause"] == OVERLOADED),
        "p50": statistics.median(waits) if waits else float("nan"),
        "p99": waits[min(len(waits) - 1, int(len(waits) * 0.99))] if waits else float("nan"),
    }


_OFFSET = time.time() - time.monotonic()


def wall(monotonic):
    return monotonic + _OFFSET


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    loop = ServerLoop()
    server = HttpServer(loop)
    fine, never = server.route("/fine"), server.route("/never", hang=True)
    try:
        runs = {
            "clean (baseline)": scenario(fine=fine, never=never, seconds=args.seconds, bad_team=False, teams=True),
            "with a never-answering team, fair share": scenario(
                fine=fine, never=never, seconds=args.seconds, bad_team=True, teams=True
            ),
            "with a never-answering team, one shared queue": scenario(
                fine=fine, never=never, seconds=args.seconds, bad_team=True, teams=False
            ),
        }
    finally:
        server.close()
        loop.stop()
    for name, figures in runs.items():
        print(f"fairness {name}: well-behaved checks sent: {figures['sent']} checks")
        print(f"fairness {name}: well-behaved checks run: {figures['ran']} checks")
        print(f"fairness {name}: well-behaved checks not run: {figures['not run (overloaded)']} checks")
        print(f"fairness {name}: well-behaved wait p50: {figures['p50']:.1f} ms")
        print(f"fairness {name}: well-behaved wait p99: {figures['p99']:.1f} ms")


if __name__ == "__main__":
    main()
