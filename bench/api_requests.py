#!/usr/bin/env python
"""REST API cost per request, in process, next to a baseline served the same way.

1. Creates a scratch test database on the server of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/pharos; dropped at the end) and fills one team with
   ``--monitors`` monitors, each with two request headers.
2. Times requests through Django's full handler (middleware, auth, rate limit, envelope)
   with the test client: a 401 (token check only) as the baseline, GET one monitor, lists of
   50 and 250, POST and PATCH; then GET one monitor with the rate limit on (Redis when
   REDIS_URL is set) against the same with it off.
3. Prints ``name: value unit`` lines (p50 and p95 of ``--repeat`` requests each).

Usage: .venv/bin/python bench/api_requests.py [--repeat 200] [--monitors 300]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--monitors", type=int, default=300)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pharos")
    os.environ.setdefault("SECRET_KEY", "pharos-bench")
    os.environ["PHAROS_IGNORE_DOTENV"] = "1"
    os.environ["PHAROS_TEST_DB_NAME"] = f"pharos_bench_api_{os.getpid()}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args):
    from django.conf import settings
    from django.test import Client

    from monitors.models import Monitor, MonitorRequestHeader
    from teams.models import ApiToken, Team

    settings.ALLOWED_HOSTS = ["testserver"]
    team = Team.objects.create(name="Bench")
    _, token = ApiToken.issue(team, name="bench")
    monitors = Monitor.objects.bulk_create(
        Monitor(team=team, url=f"https://eleva.care/{n}", regions=["us", "eu", "as"]) for n in range(args.monitors)
    )
    MonitorRequestHeader.objects.bulk_create(
        MonitorRequestHeader(monitor=m, name=name, value="1") for m in monitors for name in ("X-A", "X-B")
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    anonymous = Client()
    one = f"/api/v2/monitors/{monitors[0].pk}"
    body = {"url": "https://eleva.care/api/healthcheck", "check_frequency": 30, "regions": ["us", "eu", "as"]}

    settings.PHAROS_API_RATE_LIMIT = 0
    wrong = Client(HTTP_AUTHORIZATION="Bearer ph_not-a-token-of-anyone")
    timings = {
        "baseline_db_round_trip": lambda: select_one(),
        "baseline_no_token_401": lambda: anonymous.get("/api/v2/monitors"),
        "baseline_wrong_token_401": lambda: wrong.get("/api/v2/monitors"),
        "get_one_monitor": lambda: client.get(one),
        "list_50_monitors": lambda: client.get("/api/v2/monitors", {"per_page": 50}),
        "list_250_monitors": lambda: client.get("/api/v2/monitors", {"per_page": 250}),
        "create_monitor": lambda: client.post("/api/v2/monitors", json.dumps(body), content_type="application/json"),
        "patch_monitor": lambda: client.patch(
            one, json.dumps({"pronounceable_name": "x"}), content_type="application/json"
        ),
    }
    for name, call in timings.items():
        report(name, measure(call, args.repeat))
    off = measure(lambda: client.get(one), args.repeat)
    settings.PHAROS_API_RATE_LIMIT = 10**9
    on = measure(lambda: client.get(one), args.repeat)
    report("get_one_rate_limit_off", off)
    report("get_one_rate_limit_on", on)
    print(f"rate_limit_store: {'redis' if os.environ.get('REDIS_URL') else 'django-cache'}")


class _Answer:
    status_code = 200
    content = b""


def select_one():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return _Answer()


def measure(call, repeat):
    for _ in range(5):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 500, response.content[:300]
    return samples


def report(name, samples):
    samples = sorted(samples)
    print(f"api_{name}_p50: {statistics.median(samples):.2f} ms")
    print(f"api_{name}_p95: {samples[int(len(samples) * 0.95) - 1]:.2f} ms")


if __name__ == "__main__":
    main()
