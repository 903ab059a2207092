"""/metrics under gunicorn: the web tier's counters are summed over every worker.

A real gunicorn started as `make run` starts it (config/gunicorn.conf.py: two workers,
prometheus_client's multiprocess mode in a directory of the test's own). Requests go out
on fresh connections until both workers have answered some (the access log names the
process); whichever worker answers the scrape, the page counts all of them, and still does
after one worker is killed and replaced.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.ops.test_metrics import samples
from tests.processes import stop_process, wait_for

PROJECT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-across-workers"
HEALTH = 'pharos_http_responses_total{route="api",status="200"}'
MISSED_PINGS = 'pharos_http_responses_total{route="ping",status="404"}'

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def _database_url():
    db = connection.settings_dict
    credentials = (db["USER"] or "postgres") + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _spare_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web(tmp_path, redis_url):
    port = _spare_port()
    counts_dir = tmp_path / "prometheus"
    counts_dir.mkdir()
    (counts_dir / "counter_999999.db").write_bytes(b"left over by a previous run")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-metrics-workers",
        "PHAROS_IGNORE_DOTENV": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "PHAROS_WEB_THREADS": "2",
        "PHAROS_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(counts_dir),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PHAROS_TEST_DB_NAME", None)
    access_log = tmp_path / "access.log"
    output = open(tmp_path / "gunicorn.log", "w+")
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--config",
        "config/gunicorn.conf.py",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "served-by %(p)s %(s)s %(U)s",
    ]
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return httpx.get(f"{base}/api/healthcheck", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def log_text():
        output.seek(0)
        return output.read()

    try:
        wait_for(answers, timeout=60, what="gunicorn to answer", process=process, output=log_text)
        yield base, access_log, process
    finally:
        stop_process(process)
        output.close()


def _workers_that_served(access_log, path):
    pids = {}
    for line in access_log.read_text().splitlines():
        _, pid, _status, served_path = line.split(" ", 3)
        pid = pid.strip("<>")
        if served_path == path:
            pids[pid] = pids.get(pid, 0) + 1
    return pids


def _scrape(base):
    response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert response.status_code == 200, response.text
    return samples(response.text)


def _requests_until_both_workers_served(base, access_log, path, *, expected_status):
    sent = 0
    deadline = time.monotonic() + 60
    while sent < 400 and time.monotonic() < deadline:
        # A fresh connection each time: the kernel hands it to whichever worker accepts first.
        response = httpx.get(base + path, headers={"Connection": "close"}, timeout=10)
        assert response.status_code == expected_status
        sent += 1
        if sent >= 20 and len(_workers_that_served(access_log, path)) >= 2:
            return sent
    pytest.fail(f"after {sent} requests one worker still had all of them: {_workers_that_served(access_log, path)}")


def _wait_for_access_log(access_log, path, count):
    wait_for(
        lambda: sum(_workers_that_served(access_log, path).values()) >= count,
        timeout=10,
        what="the access log to show every request",
    )


def test_counts_of_both_workers_are_summed_on_every_scrape(web):
    base, access_log, _ = web
    baseline = _scrape(base).get(HEALTH, 0)  # the readiness probes answered 200 already
    sent = _requests_until_both_workers_served(base, access_log, "/api/healthcheck", expected_status=200)
    pings = 0
    for _ in range(7):
        assert httpx.get(f"{base}/api/v1/heartbeat/no-such-token", timeout=10).status_code == 404
        pings += 1
    # Several scrapes, so both workers answer some of them: each one sums every worker.
    for _ in range(6):
        found = _scrape(base)
        assert found[HEALTH] - baseline == sent
        assert found[MISSED_PINGS] == pings
    # The file left by an earlier run was removed at start, not added in.
    _wait_for_access_log(access_log, "/api/healthcheck", found[HEALTH])
    assert found[HEALTH] == sum(_workers_that_served(access_log, "/api/healthcheck").values())


def test_a_killed_worker_keeps_its_counts_and_its_replacement_adds_to_them(web):
    base, access_log, master = web
    _requests_until_both_workers_served(base, access_log, "/api/healthcheck", expected_status=200)
    before = _scrape(base)[HEALTH]
    victim = int(next(iter(_workers_that_served(access_log, "/api/healthcheck"))))
    os.kill(victim, signal.SIGKILL)
    # gunicorn reaps it (child_exit) and forks a replacement; then two workers answer again.
    sent_after = _requests_until_both_workers_served_after(base, access_log, exclude=str(victim))
    assert master.poll() is None
    assert _scrape(base)[HEALTH] == before + sent_after


def _requests_until_both_workers_served_after(base, access_log, *, exclude):
    """Requests until two workers other than ``exclude`` have answered since the kill."""
    path = "/api/healthcheck"
    sent = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sent < 400:
        try:
            response = httpx.get(base + path, headers={"Connection": "close"}, timeout=10)
        except httpx.TransportError:
            time.sleep(0.1)  # the dead worker's accepted connection; nothing was counted for it
            continue
        assert response.status_code == 200
        sent += 1
        live = set(_workers_that_served(access_log, path)) - {exclude}
        if len(live) >= 2:
            return sent
    pytest.fail("no replacement worker answered after the kill")
