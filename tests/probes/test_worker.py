"""The region worker end to end: a real ``celery -A probes.worker worker -Q probe.eu``
process with no database and no Django, over the suite's real Redis."""

import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as redis_lib
from celery import Celery

from config.broker import RECORD_OUTCOMES_TASK, RESULTS_QUEUE, RUN_BATCH_TASK, probe_queue
from probes.spec import batch_message
from tests.probes.conftest import make_spec
from tests.processes import stop_process

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parents[2]
REGION = "eu"

# Runs the real celery command line with Django made unimportable, as on a region host
# that does not install it. kombu and celery probe for Django themselves (an optional
# `from django.utils.functional import Promise` under try/except ImportError); every
# refused attempt is logged with the file that made it, so the test can tell theirs
# from ours. Our code importing Django would crash the worker instead.
WORKER_LAUNCHER = """
import sys, traceback

class RefuseDjango:
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            frames = [f for f in traceback.extract_stack() if "importlib" not in f.filename and "<string>" not in f.filename]
            sys.stderr.write("REFUSED DJANGO IMPORT " + name + " FROM " + frames[-1].filename + "\\n")
            raise ImportError("the region worker runs without Django: " + name)

sys.meta_path.insert(0, RefuseDjango())
from celery.__main__ import main
sys.argv = ["celery"] + sys.argv[1:]
main()
"""


def worker_environment(redis_url):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PHAROS_"))}
    env.update(
        REDIS_URL=redis_url,
        PHAROS_REGION=REGION,
        PHAROS_ALLOW_PRIVATE_TARGETS="1",  # the targets below are loopback test servers
        PHAROS_PROBE_CONCURRENCY="20",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
        PYTHONPATH=str(PROJECT_DIR),
    )
    return env


@pytest.fixture(scope="module")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL must be set: the suite talks to a real Redis (make test sets it)")
    return url


@pytest.fixture(scope="module")
def redis_client(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def region_worker(redis_url, redis_client, tmp_path_factory):
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER_LAUNCHER,
                "-A",
                "probes.worker",
                "worker",
                "-Q",
                probe_queue(REGION),
                "-n",
                "probe-eu-test@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_DIR,
            env=worker_environment(redis_url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    process.log = log
    try:
        yield process
    finally:
        stop_process(process, grace=20)


@pytest.fixture(scope="module")
def sender(redis_url):
    app = Celery("pharos-test-sender", broker=redis_url)
    app.conf.update(task_serializer="json", accept_content=["json"])
    yield app
    app.close()


def send_batch(sender, specs, *, expires_in=60, celery_expires=False):
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
    message = batch_message(region=REGION, specs=specs, expires_at=expires_at.isoformat())
    options = {"expires": expires_at} if celery_expires else {}
    sender.send_task(RUN_BATCH_TASK, args=[message], queue=probe_queue(REGION), **options)


def next_results_message(redis_client, worker, timeout=30):
    """The next message on ``results``, read straight from Redis as kombu stores it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"region worker exited with {worker.returncode}:\n{worker.log.read_text()[-3000:]}")
        popped = redis_client.brpop(RESULTS_QUEUE, timeout=1)
        if popped:
            envelope = json.loads(popped[1])
            body = json.loads(base64.b64decode(envelope["body"]))
            return envelope["headers"]["task"], body[0][0]
    pytest.fail(f"no results message within {timeout} s; worker log:\n{worker.log.read_text()[-3000:]}")


def test_a_batch_runs_on_the_region_worker_and_its_outcomes_arrive_on_results(
    region_worker, redis_client, sender, http_server
):
    up = http_server.route("/up")
    down = http_server.route("/down", status=503, body=b"overloaded")
    send_batch(sender, [make_spec(monitor_id=1, target=up), make_spec(monitor_id=2, target=down)])

    task, message = next_results_message(redis_client, region_worker)

    assert task == RECORD_OUTCOMES_TASK
    assert message["region"] == REGION and message["dropped"] == 0
    assert isinstance(message["loop_lag"], float)
    by_id = {o["monitor_id"]: o for o in message["outcomes"]}
    assert (by_id[1]["status"], by_id[1]["region"]) == ("up", REGION)
    assert (by_id[2]["status"], by_id[2]["cause"], by_id[2]["response_excerpt"]) == ("down", "Status 503", "overloaded")
    assert http_server.requests[0].headers["x-pharos-region"] == REGION
    assert django_imports_outside_libraries(region_worker) == []


def django_imports_outside_libraries(worker):
    """Attempts to import Django made by anything but the libraries that merely probe for it."""
    attempts = [line for line in worker.log.read_text().splitlines() if line.startswith("REFUSED DJANGO IMPORT")]
    return [line for line in attempts if "site-packages" not in line.split(" FROM ", 1)[1]]


def test_the_region_worker_drops_an_expired_batch_and_counts_it(region_worker, redis_client, sender, http_server):
    url = http_server.route("/")
    send_batch(sender, [make_spec(monitor_id=3, target=url)] * 3, expires_in=-5)

    task, message = next_results_message(redis_client, region_worker)

    assert task == RECORD_OUTCOMES_TASK
    assert (message["dropped"], message["outcomes"]) == (3, [])
    assert http_server.requests == []


def test_a_batch_celery_expired_in_the_queue_is_counted_as_dropped_too(
    region_worker, redis_client, sender, http_server
):
    # The scheduler also sets Celery's own `expires`; Celery then discards the message
    # before run_batch runs, and the worker must still report the drop.
    url = http_server.route("/")
    send_batch(sender, [make_spec(monitor_id=4, target=url)] * 2, expires_in=-5, celery_expires=True)

    task, message = next_results_message(redis_client, region_worker)

    assert (task, message["dropped"], message["outcomes"]) == (RECORD_OUTCOMES_TASK, 2, [])
    assert http_server.requests == []


def wait_until(predicate, *, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def test_the_region_worker_does_not_let_one_teams_never_answering_targets_hold_back_another_team(
    region_worker, redis_client, sender, http_server
):
    never = http_server.route("/never", hang=True)
    fine = http_server.route("/fine")
    # More never-answering checks than the worker has slots (20), all of one team.
    send_batch(sender, [make_spec(monitor_id=300 + i, team_id=2, target=never, timeout=3.0) for i in range(30)])
    wait_until(lambda: len(http_server.requests) >= 18, timeout=30, what="the slow team's checks to start")
    send_batch(sender, [make_spec(monitor_id=400 + i, team_id=1, target=fine) for i in range(20)])

    messages = [next_results_message(redis_client, region_worker)[1] for _ in range(2)]

    outcomes = [o for message in messages for o in message["outcomes"]]
    good = [o for o in outcomes if o["monitor_id"] >= 400]
    slow = [o for o in outcomes if o["monitor_id"] < 400]
    assert len(good) == 20 and {o["status"] for o in good} == {"up"}
    # The well-behaved team's batch was answered before the first never-answering check
    # timed out: its checks found free slots instead of waiting for those timeouts.
    assert max(o["checked_at"] for o in good) < min(o["checked_at"] for o in slow)


def test_the_region_worker_stops_the_checks_of_a_withdrawn_monitor_and_runs_its_rounds_after_a_resume(
    region_worker, redis_client, sender, http_server, redis_url
):
    from probes.runner import WITHDRAWN
    from probes.withdrawn import RedisWithdrawn

    never = http_server.route("/never", hang=True)
    ids = [500 + i for i in range(30)]
    scheduled = datetime.now(UTC).isoformat()
    # A deleted team's backlog: 30 never-answering checks, more than the worker's slots.
    send_batch(
        sender,
        [make_spec(monitor_id=pk, team_id=9, scheduled_at=scheduled, target=never, timeout=5.0) for pk in ids],
    )
    wait_until(lambda: len(http_server.requests) >= 18, timeout=30, what="the backlog's checks to start")
    RedisWithdrawn(redis_url).withdraw(ids, at=time.time())

    _, message = next_results_message(redis_client, region_worker)

    assert {(o["status"], o["cause"]) for o in message["outcomes"]} == {("error", WITHDRAWN)}
    assert len(message["outcomes"]) == 30
    assert len(http_server.requests) < 30  # the waiting ones were never started

    fine = http_server.route("/fine")
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    send_batch(sender, [make_spec(monitor_id=ids[0], team_id=9, scheduled_at=later, target=fine)])
    _, message = next_results_message(redis_client, region_worker)
    assert [(o["monitor_id"], o["status"]) for o in message["outcomes"]] == [(ids[0], "up")]
