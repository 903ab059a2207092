"""What the WSGI edge (config/edge.py) costs each request, next to the same request without it.

An application that reads a 100-byte body and answers "OK", called in-process (no socket,
no Django): the difference between the two figures is the edge's own work — the deadline
wrapper around ``wsgi.input`` and the held-back ``start_response`` — per request, to be
set against a whole ping's cost (bench/ping_ingest.py). On the shared 2-core reference
machine: ≈ 8 µs without, ≈ 26 µs with the edge, i.e. ≈ 18 µs of pure Python per request.

Prints ``name: value unit`` lines (bench/run_all.py).
"""

import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-web-edge")
os.environ.setdefault("PHAROS_IGNORE_DOTENV", "1")

from config.edge import with_web_edge  # noqa: E402

REQUESTS = 20_000
ROUNDS = 5
BODY = b"x" * 100


def application(environ, start_response):
    environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"OK"]


def start_response(status, headers, exc_info=None):
    return None


def per_request_microseconds(app):
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(REQUESTS):
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/api/v1/heartbeat/token",
                "CONTENT_LENGTH": str(len(BODY)),
                "wsgi.input": io.BytesIO(BODY),
            }
            for _chunk in app(environ, start_response):
                pass
        timings.append((time.perf_counter() - started) / REQUESTS * 1e6)
    return statistics.median(timings)


def main():
    baseline = per_request_microseconds(application)
    edged = per_request_microseconds(with_web_edge(application, body_timeout=30.0))
    print(f"baseline WSGI request without the edge: {baseline:.2f} us")
    print(f"WSGI request through the edge: {edged:.2f} us")
    print(f"edge overhead per request: {edged - baseline:.2f} us")


if __name__ == "__main__":
    main()
