"""Pharos watches itself, run the way `make run` runs it: when beat stops (a stopped
scheduler), the watchdog process mails the operators over SMTP and the dead man's switch
stops being called; when beat comes back, a recovery mail goes out and the calls resume."""

import signal
import time

import pytest

from tests.ops.servers import wait_for
from tests.ops.test_faults import start_and_wait_for_every_region
from tests.ops.watchers import DeadMansSwitch, OperatorInbox

pytestmark = pytest.mark.slow

OPERATOR = "ops@example.com"


@pytest.fixture
def inbox():
    inbox = OperatorInbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture
def switch():
    switch = DeadMansSwitch().start()
    yield switch
    switch.close()


def test_a_stopped_scheduler_reaches_the_operator_and_stops_the_watchdog_url_until_it_is_back(
    pharos, loopback_site, inbox, switch
):
    pharos.env.update(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(inbox.port),
        PHAROS_OPERATOR_EMAIL=OPERATOR,
        PHAROS_WATCHDOG_URL=switch.url,
        PHAROS_WATCHDOG_INTERVAL="1",
        PHAROS_WATCHDOG_PING_INTERVAL="1",
        PHAROS_WATCH_SCHEDULER_LAG="5",
    )
    start_and_wait_for_every_region(pharos, loopback_site)
    wait_for(lambda: switch.count() >= 2, timeout=60, what=f"the watchdog URL while healthy\n{pharos.log_tail()}")
    assert inbox.subjects() == []

    pharos.signal_role(" beat", signal.SIGSTOP)
    # Without ticks the regions go quiet too, and may be named in the same mail.
    message = inbox.wait_for_mail_naming("failing", "scheduler", timeout=90, what=pharos.log_tail())
    assert "the most overdue monitor has waited" in message.get_payload()
    silent_since = time.monotonic()
    time.sleep(4)  # four evaluations
    assert switch.calls_since(silent_since) == []

    pharos.signal_role(" beat", signal.SIGCONT)
    inbox.wait_for_mail_naming("recovered", "scheduler", timeout=60, what=pharos.log_tail())
    resumed = time.monotonic()
    wait_for(lambda: switch.calls_since(resumed), timeout=60, what=f"the watchdog URL again\n{pharos.log_tail()}")
    assert all(recipients == [OPERATOR] for recipients in inbox.recipients)
