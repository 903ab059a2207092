"""The aggregator: storing votes, redelivery, deadlines and stale results."""

import json
from datetime import timedelta

import pytest

from alerts.models import Incident, OperatorEvent
from monitors.aggregator import close_overdue_rounds, record_outcomes
from monitors.models import CheckResult, Monitor, Round
from probes.spec import Outcome, results_message
from tests.monitors.conftest import T0, message_for, outcome, run_round

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]


def test_every_outcome_of_a_batch_is_stored_with_its_phases(make_monitor):
    monitors = [make_monitor() for _ in range(3)]
    rounds = [run_round(m, now=T0) for m in monitors]
    outcomes = [
        outcome(
            r,
            "us",
            "up",
            phases={"name_lookup": 0.01, "connect": 0.02, "tls_handshake": 0.03, "processing": 0.04, "transfer": 0.05},
            remote_ip="203.0.113.7",
        )
        for r in rounds
    ]
    summary = record_outcomes(json.loads(json.dumps(results_message(region="us", outcomes=outcomes))), now=T0 + S)
    assert summary["stored"] == 3
    result = CheckResult.objects.get(monitor=monitors[0])
    assert (result.region, result.outcome, result.status_code) == ("us", "up", 200)
    assert (result.name_lookup_time, result.connection_time, result.data_transfer_time) == (0.01, 0.02, 0.05)
    assert result.remote_ip == "203.0.113.7"


def test_a_redelivered_message_does_not_vote_twice(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    message = message_for(round_, "us", "down")
    record_outcomes(message, now=T0 + S)
    record_outcomes(message, now=T0 + 2 * S)
    assert CheckResult.objects.filter(monitor=monitor).count() == 1
    assert Round.objects.get(pk=round_.pk).closed_at is None


def test_a_round_stays_open_until_every_region_answered(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    record_outcomes(message_for(round_, "us", "down"), now=T0 + S)
    record_outcomes(message_for(round_, "eu", "down"), now=T0 + S)
    assert Round.objects.get(pk=round_.pk).closed_at is None
    record_outcomes(message_for(round_, "as", "up"), now=T0 + S)
    assert Round.objects.get(pk=round_.pk).verdict == "down"


def test_an_error_vote_never_counts_against_the_target(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    for region, status in (("us", "down"), ("eu", "error"), ("as", "error")):
        record_outcomes(message_for(round_, region, status), now=T0 + S)
    assert Round.objects.get(pk=round_.pk).verdict == "inconclusive"
    assert not Incident.objects.exists()


def test_a_custom_quorum_of_one_pages_on_a_single_region(make_monitor):
    monitor = make_monitor(quorum=1)
    round_ = run_round(monitor, now=T0)
    for region, status in (("us", "down"), ("eu", "up"), ("as", "up")):
        record_outcomes(message_for(round_, region, status), now=T0 + S)
    assert Incident.objects.get().regions == ["us"]


def test_a_backlog_of_stale_results_closes_rounds_as_inconclusive_not_down(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    late = round_.deadline + 60 * S
    for region in ("us", "eu", "as"):
        record_outcomes(message_for(round_, region, "down"), now=late)
    round_.refresh_from_db()
    monitor.refresh_from_db()
    assert round_.verdict == "inconclusive"
    assert monitor.status == "pending"
    assert not Incident.objects.exists()
    assert OperatorEvent.objects.filter(kind="inconclusive_round").count() == 1


def test_votes_that_arrived_in_time_still_decide_a_round_closed_late(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    record_outcomes(message_for(round_, "us", "down"), now=T0 + S)
    record_outcomes(message_for(round_, "eu", "down"), now=T0 + S)
    record_outcomes(message_for(round_, "as", "up"), now=round_.deadline + S)
    assert Round.objects.get(pk=round_.pk).verdict == "down"
    assert Incident.objects.get().regions == ["us", "eu"]


def test_overdue_rounds_are_closed_only_after_their_deadline(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    assert close_overdue_rounds(now=round_.deadline - S) == 0
    assert close_overdue_rounds(now=round_.deadline + S) == 1
    assert Round.objects.get(pk=round_.pk).verdict == "inconclusive"


def test_results_for_a_deleted_monitor_are_dropped_without_losing_the_batch(make_monitor):
    kept, deleted = make_monitor(), make_monitor()
    kept_round, deleted_round = run_round(kept, now=T0), run_round(deleted, now=T0)
    message = results_message(
        region="us", outcomes=[outcome(kept_round, "us", "up"), outcome(deleted_round, "us", "up")]
    )
    Monitor.objects.filter(pk=deleted.pk).delete()
    assert record_outcomes(message, now=T0 + S)["stored"] == 1
    assert CheckResult.objects.get().monitor_id == kept.pk


def test_results_for_a_round_already_closed_are_kept_but_change_nothing(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    close_overdue_rounds(now=round_.deadline + S)
    record_outcomes(message_for(round_, "us", "down"), now=round_.deadline + 2 * S)
    assert CheckResult.objects.filter(monitor=monitor).count() == 1
    assert Round.objects.get(pk=round_.pk).verdict == "inconclusive"


def test_an_unknown_outcome_status_is_stored_as_an_error(make_monitor):
    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    message = results_message(
        region="us",
        outcomes=[
            Outcome(monitor_id=monitor.pk, scheduled_at=round_.scheduled_at.isoformat(), region="us", status="weird")
        ],
    )
    record_outcomes(message, now=T0 + S)
    assert CheckResult.objects.get().outcome == "error"
