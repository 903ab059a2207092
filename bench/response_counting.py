"""What counting every response for /metrics costs the web tier, per response.

    .venv/bin/python bench/response_counting.py [--requests 50000] [--rounds 5]

config.metrics.counting_responses wraps the WSGI application and bumps
``pharos_http_responses_total{route,status}`` for every response, pings included. This
measures, per call of a trivial WSGI application answering 200 (the rest of a request
costs the same with or without the counter):

* baseline bare application: the application called directly;
* counted, one process: wrapped, prometheus_client's in-process values (runserver, tests);
* counted, multiprocess: wrapped, in a child process with ``PROMETHEUS_MULTIPROC_DIR``
  set, as every gunicorn worker runs (values in a memory-mapped file).

Best round of ``--rounds``, in microseconds per response; every loop is bounded in count.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"OK"]


def per_response(app, requests, rounds):
    environ = {"PATH_INFO": "/api/v1/heartbeat/some-token", "REQUEST_METHOD": "GET"}

    def start_response(status, headers, exc_info=None):
        return None

    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            b"".join(app(environ, start_response))
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", choices=["bare", "counted"], default=None)
    args = parser.parse_args()
    requests, rounds = max(1, min(args.requests, 1_000_000)), max(1, min(args.rounds, 20))
    if args.variant:  # a child run: print one number
        from config.metrics import counting_responses

        app = counting_responses(application) if args.variant == "counted" else application
        print(per_response(app, requests, rounds))
        return

    def child(variant, **env):
        run = subprocess.run(
            [sys.executable, __file__, "--variant", variant, "--requests", str(requests), "--rounds", str(rounds)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return float(run.stdout.strip().splitlines()[-1])

    environ = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    os.environ.clear()
    os.environ.update(environ)
    bare = child("bare")
    in_process = child("counted")
    with tempfile.TemporaryDirectory() as counts:
        multiprocess = child("counted", PROMETHEUS_MULTIPROC_DIR=counts)
    print(f"response, baseline bare application: {bare:.2f} us")
    print(f"response, counted in one process: {in_process:.2f} us")
    print(f"response, counted in multiprocess mode: {multiprocess:.2f} us")
    print(f"counting cost, multiprocess: {multiprocess - bare:.2f} us")


if __name__ == "__main__":
    main()
