"""The worker's engine: batches admitted to one event loop, one results message per
batch, expired batches dropped and counted, slow batches never blocking fast ones."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from probes.engine import Engine
from probes.spec import batch_message
from tests.probes.conftest import make_spec


class Inbox:
    """The publish callback: collects results messages, lets a test wait for them."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    def __call__(self, message):
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()

    def wait_for(self, count, timeout=10):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout), self.messages
        return self.messages


@pytest.fixture
def engine(authority):
    inbox = Inbox()
    engine = Engine(
        region="eu", concurrency=10, publish=inbox, allow_private_targets=True, ca_file=str(authority.ca_file)
    )
    engine.inbox = inbox
    yield engine
    engine.drain(5)
    engine.close()


def batch(specs, *, expires_in=60):
    expires_at = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat()
    return batch_message(region="eu", specs=specs, expires_at=expires_at)


def test_a_batch_publishes_one_message_with_all_its_outcomes_and_the_loop_lag(engine, http_server):
    url = http_server.route("/")
    assert engine.submit(batch([make_spec(monitor_id=i, target=url) for i in range(3)])) is True
    [message] = engine.inbox.wait_for(1)
    assert message["region"] == "eu" and message["dropped"] == 0
    assert sorted(o["monitor_id"] for o in message["outcomes"]) == [0, 1, 2]
    assert {o["status"] for o in message["outcomes"]} == {"up"}
    assert isinstance(message["loop_lag"], float) and message["loop_lag"] >= 0


def test_an_expired_batch_is_dropped_and_counted_not_run(engine, http_server):
    url = http_server.route("/")
    assert engine.submit(batch([make_spec(monitor_id=1, target=url)] * 2, expires_in=-1)) is False
    [message] = engine.inbox.wait_for(1)
    assert (message["dropped"], message["outcomes"]) == (2, [])
    assert http_server.requests == []


def test_a_slow_batch_does_not_hold_back_a_fast_one(engine, http_server):
    slow = http_server.route("/slow", hang=True)
    fast = http_server.route("/fast")
    engine.submit(batch([make_spec(monitor_id=1, target=slow, timeout=1.0)]))
    engine.submit(batch([make_spec(monitor_id=2, target=fast)]))
    first = engine.inbox.wait_for(1)[0]
    assert first["outcomes"][0]["monitor_id"] == 2
    second = engine.inbox.wait_for(2)[1]
    assert second["outcomes"][0]["cause"] == "Timeout after 1 s"


def test_drain_waits_for_admitted_batches_to_be_published(engine, http_server):
    url = http_server.route("/", delay=0.2)
    engine.submit(batch([make_spec(monitor_id=1, target=url)]))
    engine.drain(5)
    assert len(engine.inbox.messages) == 1


def test_admission_waits_while_the_worker_is_full(authority, http_server):
    inbox = Inbox()
    engine = Engine(region="eu", concurrency=1, max_pending=1, publish=inbox, allow_private_targets=True)
    try:
        url = http_server.route("/", delay=0.2)
        engine.submit(batch([make_spec(monitor_id=1, target=url)]))
        engine.submit(batch([make_spec(monitor_id=2, target=url)]))  # blocks until the first is done
        assert len(inbox.messages) == 1
        inbox.wait_for(2)
    finally:
        engine.drain(5)
        engine.close()


def test_checks_still_running_at_shutdown_are_reported_as_errors(engine, http_server):
    url = http_server.route("/", hang=True)
    engine.submit(batch([make_spec(monitor_id=7, target=url, timeout=30)]))
    engine.drain(0.3)
    [message] = engine.inbox.messages
    [outcome] = message["outcomes"]
    assert (outcome["status"], outcome["cause"]) == ("error", "Probe cancelled: worker shutting down")


def test_checks_still_queued_for_a_slot_at_shutdown_are_reported_too(authority, http_server):
    inbox = Inbox()
    engine = Engine(region="eu", concurrency=1, publish=inbox, allow_private_targets=True)
    try:
        url = http_server.route("/", hang=True)
        engine.submit(batch([make_spec(monitor_id=i, target=url, timeout=30) for i in (1, 2)]))
        engine.drain(0.3)
    finally:
        engine.close()
    [message] = inbox.messages
    assert [(o["monitor_id"], o["status"], o["cause"]) for o in message["outcomes"]] == [
        (1, "error", "Probe cancelled: worker shutting down"),
        (2, "error", "Probe cancelled: worker shutting down"),
    ]
