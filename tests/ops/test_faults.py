"""Pharos survives faults: real processes started as `make run` starts them, against a
PostgreSQL and a Redis these tests own, checking a real HTTP target on 127.0.0.1.

Each test is bounded (every wait has a deadline; about 90 s at most each).
"""

import signal
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib

from tests.ops.servers import wait_for

pytestmark = pytest.mark.slow

REGIONS = {"us", "eu", "as"}
STARTUP = 120  # seconds for migrate + seven processes on a busy two-core machine
# The scheduler gives a round QUEUE_SLACK + the check's timeout + RETURN_SLACK (10 + t + 10 s).
FREQUENCY = 3
TIMEOUT = 1
ROUND_DEADLINE = 10 + TIMEOUT + 10


def now():
    return datetime.now(UTC)


def start_and_wait_for_every_region(pharos, site, *, timeout=TIMEOUT):
    ids = pharos.seed(url=site.target_url, hook=site.hook_url, frequency=FREQUENCY, timeout=timeout)
    started = now()
    pharos.start()
    wait_for(
        lambda: pharos.db.regions_reporting_since(started) == REGIONS,
        timeout=STARTUP,
        what=f"results from every region\n{pharos.log_tail()}",
    )
    return ids


def open_incident_with_its_alert(pharos, site):
    """The target fails: wait for the incident and its one webhook delivery."""
    wait_for(lambda: pharos.db.incidents(), timeout=60, what=f"an incident\n{pharos.log_tail()}")
    wait_for(lambda: site.deliveries, timeout=60, what=f"the incident's webhook alert\n{pharos.log_tail()}")


def rounds_closed_after(pharos, monitor_id, moment):
    return [r for r in pharos.db.closed_rounds(monitor_id) if r[1] > moment]


def assert_one_incident_and_one_alert(pharos, site):
    incidents = pharos.db.incidents()
    assert len(incidents) == 1, incidents
    alerts = [n for n in pharos.db.notifications() if n[1] == "alert"]
    assert len(alerts) == 1, alerts
    assert len(site.deliveries) == 1, site.delivery_ids()


def test_a_region_worker_killed_mid_batch_opens_no_incident_and_its_checks_resume(pharos, loopback_site):
    site = loopback_site
    site.delay = 1.5  # every check stays in flight long enough to be killed under
    ids = start_and_wait_for_every_region(pharos, site, timeout=5)

    # One check in flight from every region: the eu worker is in the middle of a batch.
    wait_for(lambda: site.in_flight >= len(REGIONS), timeout=30, interval=0.02, what="a check in flight per region")
    killed_at = now()
    pharos.signal_role("-Q probe.eu", signal.SIGKILL)

    # Its rounds (the one it was killed in, and those dispatched while it restarts) close
    # without it, on the votes of the others...
    def rounds_closed_without_eu():
        since = killed_at - timedelta(seconds=FREQUENCY)
        return [r for r in pharos.db.closed_rounds(ids["monitor"]) if r[1] >= since and "eu" not in r[3]]

    closed = wait_for(rounds_closed_without_eu, timeout=10 + 5 + 10 + 20, what="a round closed without eu")
    assert all(verdict == "up" for _, _, verdict, _ in closed), closed
    # ...and the supervisor's restart brings its checks back.
    wait_for(
        lambda: "eu" in pharos.db.regions_reporting_since(killed_at),
        timeout=60,
        what=f"checks from eu after its restart\n{pharos.log_tail()}",
    )
    assert pharos.db.incidents() == []
    assert pharos.db.monitor_status(ids["monitor"]) == "up"


def test_a_redis_restart_recovers_within_30_s_without_duplicating_the_incident_or_its_alert(
    pharos, loopback_site, fault_servers
):
    _, redis = fault_servers
    site = loopback_site
    site.status = 500
    ids = start_and_wait_for_every_region(pharos, site)
    open_incident_with_its_alert(pharos, site)

    redis.stop()
    down = wait_for(
        lambda: (h := pharos.health()) and h[0] == 503 and "broker" in h[1]["failing"] and h,
        timeout=20,
        what="the health check to name the broker",
    )
    assert "database" not in down[1]["failing"]
    assert pharos.get("/api/healthcheck").status_code == 200
    redis.start()
    back_at = now()

    wait_for(
        lambda: pharos.db.regions_reporting_since(back_at) == REGIONS,
        timeout=30,
        what=f"checks from every region within 30 s of Redis coming back\n{pharos.log_tail()}",
    )
    # Let rounds dispatched after the restart close too: a duplicate would have its chance.
    wait_for(lambda: rounds_closed_after(pharos, ids["monitor"], back_at), timeout=30, what="a round after the restart")
    wait_for(lambda: (h := pharos.health()) and h[0] == 200, timeout=30, what="the health check to pass again")
    assert_one_incident_and_one_alert(pharos, site)
    assert pharos.db.monitor_status(ids["monitor"]) == "down"


def test_a_postgresql_restart_recovers_within_30_s_without_duplicating_the_incident_or_its_alert(
    pharos, loopback_site, fault_servers
):
    postgres, _ = fault_servers
    site = loopback_site
    site.status = 500
    ids = start_and_wait_for_every_region(pharos, site)
    open_incident_with_its_alert(pharos, site)

    postgres.stop()
    down = wait_for(
        lambda: (h := pharos.health()) and h[0] == 503 and "database" in h[1]["failing"] and h,
        timeout=20,
        what="the health check to name the database",
    )
    assert "broker" not in down[1]["failing"]
    assert pharos.get("/api/healthcheck").status_code == 200
    postgres.start()
    back_at = now()

    wait_for(
        lambda: pharos.db.regions_reporting_since(back_at) == REGIONS,
        timeout=30,
        what=f"checks from every region within 30 s of PostgreSQL coming back\n{pharos.log_tail()}",
    )
    wait_for(lambda: rounds_closed_after(pharos, ids["monitor"], back_at), timeout=30, what="a round after the restart")
    wait_for(lambda: (h := pharos.health()) and h[0] == 200, timeout=30, what="the health check to pass again")
    assert_one_incident_and_one_alert(pharos, site)
    assert pharos.db.monitor_status(ids["monitor"]) == "down"


def test_a_backlog_of_stale_results_closes_rounds_as_inconclusive_not_down(pharos, loopback_site, fault_servers):
    _, redis = fault_servers
    site = loopback_site
    ids = start_and_wait_for_every_region(pharos, site)

    # The aggregator hangs (frozen, not dead: the supervisor does not replace it) while the
    # target fails; the regions' DOWN outcomes pile up in `results`.
    frozen_at = now()
    pharos.signal_role("-Q results", signal.SIGSTOP)
    site.status = 500
    broker = redis_lib.Redis.from_url(redis.url)
    wait_for(lambda: broker.llen("results") >= 2 * len(REGIONS), timeout=30, what="failing outcomes waiting in results")
    failing_until = now()
    site.status = 200
    # Every failing outcome now belongs to a round whose deadline has passed.
    wait_for(
        lambda: now() > failing_until + timedelta(seconds=ROUND_DEADLINE + 2),
        timeout=ROUND_DEADLINE + 10,
        what="the failing rounds' deadlines",
    )
    thawed_at = now()
    pharos.signal_role("-Q results", signal.SIGCONT)

    wait_for(lambda: rounds_closed_after(pharos, ids["monitor"], thawed_at), timeout=40, what="a round after the thaw")
    wait_for(lambda: broker.llen("results") == 0, timeout=30, what="the backlog to drain")
    stale = [r for r in pharos.db.closed_rounds(ids["monitor"]) if frozen_at < r[1] <= failing_until]
    assert stale, "no round was dispatched while the aggregator was frozen"
    assert {verdict for _, _, verdict, _ in stale} == {"inconclusive"}, stale
    # The stale DOWN outcomes were stored (the backlog was processed), yet nothing opened.
    assert pharos.db.value("SELECT count(*) FROM monitors_checkresult WHERE outcome = 'down'") > 0
    assert pharos.db.incidents() == []
    assert pharos.db.monitor_status(ids["monitor"]) != "down"
