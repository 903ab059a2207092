"""The quorum matrix on three regions, against a real aggregator worker process.

Region workers are stood in for by sending their results messages to the ``results``
queue; the tick that records each round is the real one.
"""

import time

import pytest
from django.utils import timezone

from alerts.models import Incident, OperatorEvent
from config.broker import RECORD_OUTCOMES_TASK, RESULTS_QUEUE
from config.celery import app
from monitors.models import CheckResult, Monitor, Round
from tests.monitors.conftest import message_for, run_round, wait_for

CLOSE_OVERDUE_TASK = "monitors.close_overdue_rounds"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]


def verdict_applied(round_):
    closed = Round.objects.get(pk=round_.pk)
    if closed.closed_at is None:
        return False
    applied_through = Monitor.objects.get(pk=round_.monitor_id).verdict_round_at
    return closed.verdict == "inconclusive" or (applied_through is not None and applied_through >= round_.scheduled_at)


def play_round(monitor, votes):
    """Dispatch one round now and send each region's vote through the worker; regions
    absent from ``votes`` stay silent until the deadline."""
    round_ = run_round(monitor, now=timezone.now())
    for region, status in votes.items():
        app.send_task(RECORD_OUTCOMES_TASK, args=[message_for(round_, region, status)], queue=RESULTS_QUEUE)
    stored = CheckResult.objects.filter(monitor=monitor, scheduled_at=round_.scheduled_at)
    wait_for(lambda: stored.count() == len(votes), what="votes stored")
    if len(votes) == len(round_.regions):
        wait_for(lambda: verdict_applied(round_), what="the worker to close the round and apply it")
    else:
        # Silent regions: once the worker is done with the votes (they are stored; let it
        # finish the message), bring the deadline forward, let it pass, and have the
        # worker run the overdue sweep, as beat would have it do.
        time.sleep(0.5)
        Round.objects.filter(pk=round_.pk).update(deadline=timezone.now() + timezone.timedelta(milliseconds=100))
        time.sleep(0.2)
        app.send_task(CLOSE_OVERDUE_TASK, queue=RESULTS_QUEUE)
        wait_for(lambda: verdict_applied(round_), what="the worker to close the overdue round")
    round_.refresh_from_db()
    monitor.refresh_from_db()
    return round_


def test_one_down_region_of_three_opens_no_incident(results_worker, make_monitor):
    monitor = make_monitor()
    round_ = play_round(monitor, {"us": "down", "eu": "up", "as": "up"})
    assert round_.verdict == "up"
    assert monitor.status == "up"
    assert not Incident.objects.exists()


def test_two_of_three_failing_regions_open_an_incident_naming_them(results_worker, make_monitor):
    monitor = make_monitor()
    round_ = play_round(monitor, {"us": "down", "eu": "down", "as": "up"})
    assert round_.verdict == "down"
    assert monitor.status == "down"
    incident = Incident.objects.get()
    assert sorted(incident.regions) == ["eu", "us"]
    assert incident.cause == "Status 503"
    assert incident.source_id == monitor.pk


def test_three_failing_regions_open_an_incident(results_worker, make_monitor):
    monitor = make_monitor()
    play_round(monitor, {"us": "down", "eu": "down", "as": "down"})
    assert monitor.status == "down"
    assert sorted(Incident.objects.get().regions) == ["as", "eu", "us"]


def test_one_silent_region_and_two_up_is_up(results_worker, make_monitor):
    monitor = make_monitor()
    round_ = play_round(monitor, {"eu": "up", "as": "up"})
    assert round_.verdict == "up"
    assert monitor.status == "up"
    assert not Incident.objects.exists()


def test_one_silent_region_and_two_down_opens_an_incident(results_worker, make_monitor):
    monitor = make_monitor()
    round_ = play_round(monitor, {"us": "down", "as": "down"})
    assert round_.verdict == "down"
    assert sorted(Incident.objects.get().regions) == ["as", "us"]


def test_all_regions_silent_is_inconclusive_with_an_operator_event_and_no_incident(results_worker, make_monitor):
    monitor = make_monitor()
    round_ = play_round(monitor, {})
    assert round_.verdict == "inconclusive"
    assert monitor.status == "pending"
    assert not Incident.objects.exists()
    event = OperatorEvent.objects.get(kind=OperatorEvent.Kind.INCONCLUSIVE_ROUND)
    assert monitor.pk in event.metadata["monitor_ids"]


def test_an_outage_seen_by_two_regions_opens_one_incident_and_its_recovery_resolves_it(results_worker, make_monitor):
    monitor = make_monitor(recovery_period=0)
    play_round(monitor, {"us": "down", "eu": "down", "as": "up"})
    play_round(monitor, {"us": "down", "eu": "down", "as": "up"})
    assert Incident.objects.count() == 1
    play_round(monitor, {"us": "up", "eu": "up", "as": "up"})
    incident = Incident.objects.get()
    assert incident.resolved_at is not None
    assert Monitor.objects.get(pk=monitor.pk).status == "up"
