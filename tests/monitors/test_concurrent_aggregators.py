"""Two aggregators racing on the same rounds (threads, each with its own connection)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from alerts.models import Incident
from monitors.aggregator import record_outcomes
from monitors.models import Monitor, Round
from probes.spec import results_message
from tests.monitors.conftest import T0, outcome, run_round

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

S = timedelta(seconds=1)
MONITORS = 20


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]


@pytest.fixture
def rounds(make_monitor):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent aggregators need PostgreSQL")
    monitors = [make_monitor() for _ in range(MONITORS)]
    return [run_round(m, now=T0) for m in monitors]


def messages(rounds, regions, status="down"):
    return [results_message(region=region, outcomes=[outcome(r, region, status) for r in rounds]) for region in regions]


def race(*workloads):
    """Run each list of messages in its own thread, all starting together."""
    start = threading.Barrier(len(workloads))
    errors = []

    def aggregate(batch):
        try:
            start.wait(timeout=10)
            for message in batch:
                record_outcomes(message, now=T0 + 2 * S)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=aggregate, args=(w,)) for w in workloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_two_aggregators_fed_the_same_round_open_one_incident(rounds):
    both = messages(rounds, ["us", "eu", "as"])
    race(both, list(both))
    assert Incident.objects.count() == MONITORS
    assert sorted(Incident.objects.values_list("source_id", flat=True)) == sorted(r.monitor_id for r in rounds)
    assert set(Monitor.objects.values_list("status", flat=True)) == {"down"}


def test_two_aggregators_sharing_a_rounds_votes_close_it_once(rounds):
    race(messages(rounds, ["us", "eu"]), messages(rounds, ["as"]))
    assert Round.objects.filter(closed_at__isnull=True).count() == 0
    assert set(Round.objects.values_list("verdict", flat=True)) == {"down"}
    assert Incident.objects.count() == MONITORS
