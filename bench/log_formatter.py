"""Cost of one log line: the JSON formatter on python-json-logger against the hand-written
one it replaced, and the plain formatter with our filters against the bare stdlib one.

    .venv/bin/python bench/log_formatter.py [--records 20000] [--rounds 5]

Each variant formats the same records (an aggregator line with monitor, region and round
context and one other extra, like the ones the control plane writes most) in a bounded
loop; variants alternate for ``--rounds`` rounds and the best round of each is printed, in
microseconds per record (lower is better), next to its baseline of the same run:

* baseline plain: ``logging.Formatter`` with the LOGGING format, no filter;
* plain with filters: the same, after config.log_safety's two filters (what Django's and
  Celery's handlers run when PHAROS_LOG_JSON is off);
* baseline hand-written json: the formatter config/logging.py had before (kept in
  bench/_handwritten_json_formatter.py);
* json (python-json-logger): config.logging.JsonFormatter, after the database filter.
"""

import argparse
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _handwritten_json_formatter import HandwrittenJsonFormatter  # noqa: E402

from config.log_safety import OneLinePerRecord, RedactDatabaseErrors  # noqa: E402
from config.logging import JsonFormatter  # noqa: E402

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
ROUND = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def record(number):
    return logging.getLogger("monitors.aggregator").makeRecord(
        "monitors.aggregator",
        logging.INFO,
        __file__,
        1,
        "round closed: %s of %s regions down",
        (2, 3),
        None,
        extra={"monitor": number, "region": "eu", "round": ROUND, "votes": {"down": 2, "up": 1}},
    )


def measure(formatter, filters, records):
    started = time.perf_counter()
    for item in records:
        for each in filters:
            each.filter(item)
        formatter.format(item)
    return (time.perf_counter() - started) / len(records) * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    variants = {
        "baseline plain": (logging.Formatter(PLAIN_FORMAT), lambda: []),
        "plain with filters": (logging.Formatter(PLAIN_FORMAT), lambda: [RedactDatabaseErrors(), OneLinePerRecord()]),
        "baseline hand-written json": (HandwrittenJsonFormatter(), lambda: []),
        "json (python-json-logger)": (JsonFormatter(), lambda: [RedactDatabaseErrors()]),
    }
    best = {name: float("inf") for name in variants}
    for _ in range(max(1, args.rounds)):
        for name, (formatter, filters) in variants.items():
            # Fresh records each time: the filters mark a record they have seen.
            records = [record(number) for number in range(max(1, args.records))]
            best[name] = min(best[name], measure(formatter, filters(), records))
    for name, value in best.items():
        print(f"log line, {name}: {value:.2f} us")
    print(
        f"json ratio (python-json-logger / hand-written): {best['json (python-json-logger)'] / best['baseline hand-written json']:.2f} x"
    )
    print(f"plain ratio (with filters / bare): {best['plain with filters'] / best['baseline plain']:.2f} x")


if __name__ == "__main__":
    main()
