"""The rate limit holds across gunicorn workers: the count lives in Redis, not in a process.

A real gunicorn with two workers, each replaced after every request (``--max-requests 1``),
serves a burst of one token: every request lands in a process that has never seen the
token, so only a shared count can stop the burst at the limit.
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings

from teams.models import ApiToken, Team
from tests.processes import stop_process, wait_for

LIMIT = 2
REQUESTS = 6
PROJECT = Path(__file__).resolve().parents[2]


def database_url_of_test_database():
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, redis_url, clean_redis, tmp_path):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    env = dict(os.environ)
    env.pop("PHAROS_TEST_DB_NAME", None)
    env.update(
        DATABASE_URL=database_url_of_test_database(),
        REDIS_URL=redis_url,
        PHAROS_IGNORE_DOTENV="1",
        SECRET_KEY=env.get("SECRET_KEY") or "pharos-test-secret-key",
        PHAROS_API_RATE_LIMIT=str(LIMIT),
        PHAROS_DB_CONN_MAX_AGE="0",
        ALLOWED_HOSTS="127.0.0.1",
        DEBUG="0",
    )
    log = open(tmp_path / "gunicorn.log", "w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"fd://{listener.fileno()}",
            "--workers",
            "2",
            "--max-requests",
            "1",
            # Imported once in the master, so a replacement worker is a fork, not a boot.
            "--preload",
            "--access-logfile",
            str(tmp_path / "access.log"),
            "--access-logformat",
            "served-by %(p)s %(s)s",
        ],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=[listener.fileno()],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(base, process, log)
        yield base, tmp_path / "access.log"
    finally:
        stop_process(process)
        listener.close()
        log.close()


def _wait_until_answering(base, process, log, timeout=60):
    def answers():
        try:
            # No token: a 401 is not counted against anyone's allowance.
            return httpx.get(f"{base}/api/v2/monitors", timeout=10).status_code == 401
        except httpx.TransportError:
            return False

    def output():
        log.seek(0)
        return log.read()

    wait_for(answers, timeout=timeout, what="gunicorn to answer", process=process, output=output)


def _burst(base, token):
    headers = {"Authorization": f"Bearer {token}"}
    return [httpx.get(f"{base}/api/v2/monitors", headers=headers, timeout=30).status_code for _ in range(REQUESTS)]


@pytest.mark.slow
def test_workers_that_never_saw_the_token_still_stop_it_at_the_limit(gunicorn):
    base, access_log = gunicorn
    team = Team.objects.create(name="Eleva Care")
    for _attempt in range(2):
        _, token = ApiToken.issue(team, name="burst")
        window = int(time.time() // 60)
        statuses = _burst(base, token)
        # A burst that straddles a minute boundary spans two windows; the next one cannot.
        if int(time.time() // 60) == window:
            break

    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == REQUESTS - LIMIT
    processes = re.findall(r"served-by <(\d+)> (?:200|429)", access_log.read_text())
    assert len(set(processes)) == len(processes), "each request must have met a fresh process"
