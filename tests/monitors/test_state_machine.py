"""The monitor state machine: confirmation, recovery, resets and flapping."""

from datetime import timedelta

import pytest

from alerts.incidents import resolve_incident
from alerts.models import Incident
from tests.monitors.conftest import ALL_UP, DOWN_TWICE, T0, play

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]


def test_the_first_up_round_makes_a_pending_monitor_up(make_monitor):
    monitor = make_monitor()
    play(monitor, T0, ALL_UP)
    assert monitor.status == "up"
    assert monitor.passing_since == T0


def test_a_first_down_round_asks_for_an_immediate_confirmation_round(make_monitor):
    monitor = make_monitor(confirmation_period=60, check_frequency=300)
    play(monitor, T0, DOWN_TWICE)
    assert not Incident.objects.exists()
    assert monitor.failing_since == T0
    # The verdict came in 2 s after the round: the confirmation is due then, not in 300 s.
    assert monitor.next_check_at == T0 + 2 * S


def test_the_confirmation_round_is_marked_as_one(make_monitor):
    monitor = make_monitor(confirmation_period=60, check_frequency=300)
    play(monitor, T0, DOWN_TWICE)
    confirmation = play(monitor, monitor.next_check_at, DOWN_TWICE)
    assert confirmation.is_confirmation


def test_down_rounds_lasting_the_confirmation_period_open_the_incident(make_monitor):
    monitor = make_monitor(confirmation_period=60, check_frequency=300)
    play(monitor, T0, DOWN_TWICE)
    play(monitor, T0 + 5 * S, DOWN_TWICE)
    assert not Incident.objects.exists()
    # Until confirmed, the next round is pulled in to when the period is up.
    assert monitor.next_check_at == T0 + 60 * S
    play(monitor, T0 + 60 * S, DOWN_TWICE)
    assert monitor.status == "down"
    assert Incident.objects.get().started_at == T0 + 62 * S


def test_an_up_round_during_confirmation_resets_the_count(make_monitor):
    monitor = make_monitor(confirmation_period=60)
    play(monitor, T0, DOWN_TWICE)
    play(monitor, T0 + 30 * S, ALL_UP)
    play(monitor, T0 + 60 * S, DOWN_TWICE)
    play(monitor, T0 + 90 * S, DOWN_TWICE)
    assert not Incident.objects.exists()
    assert monitor.failing_since == T0 + 60 * S


def test_a_zero_confirmation_period_opens_the_incident_on_the_first_down_round(make_monitor):
    monitor = make_monitor(confirmation_period=0)
    play(monitor, T0, DOWN_TWICE)
    assert monitor.status == "down"
    incident = Incident.objects.get()
    assert incident.http_method == "GET"
    assert incident.url == monitor.url
    assert incident.response_content == ""


def test_the_incident_carries_the_failing_response_and_the_majority_cause(make_monitor):
    from monitors.aggregator import record_outcomes
    from tests.monitors.conftest import message_for, run_round

    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    record_outcomes(message_for(round_, "us", "down", cause="Timeout after 30 s"), now=T0 + S)
    record_outcomes(
        message_for(round_, "eu", "down", cause="Status 502", response_excerpt="<h1>Bad gateway</h1>"), now=T0 + S
    )
    record_outcomes(message_for(round_, "as", "down", cause="Status 502", response_excerpt="x" * 2000), now=T0 + S)
    incident = Incident.objects.get()
    assert incident.cause == "Status 502"
    assert incident.response_content == "<h1>Bad gateway</h1>"
    assert incident.regions == ["us", "eu", "as"]


def test_the_first_up_round_after_an_outage_makes_it_validating(make_monitor):
    monitor = make_monitor(recovery_period=120)
    play(monitor, T0, DOWN_TWICE)
    play(monitor, T0 + 30 * S, ALL_UP)
    assert monitor.status == "validating"
    assert Incident.objects.get().status == "Validating"
    # Recovery is checked when its period is up rather than at the next regular round.
    assert monitor.next_check_at == T0 + 60 * S


def test_up_rounds_lasting_the_recovery_period_resolve_the_incident(make_monitor):
    monitor = make_monitor(recovery_period=120)
    play(monitor, T0, DOWN_TWICE)
    play(monitor, T0 + 30 * S, ALL_UP)
    play(monitor, T0 + 90 * S, ALL_UP)
    assert Incident.objects.get().resolved_at is None
    play(monitor, T0 + 150 * S, ALL_UP)
    incident = Incident.objects.get()
    assert incident.resolved_at == T0 + 152 * S
    assert monitor.status == "up"


def test_a_down_round_while_validating_resets_the_recovery_count(make_monitor):
    monitor = make_monitor(recovery_period=120)
    play(monitor, T0, DOWN_TWICE)
    play(monitor, T0 + 30 * S, ALL_UP)
    play(monitor, T0 + 60 * S, DOWN_TWICE)
    assert monitor.status == "down"
    assert Incident.objects.get().status == "Started"
    play(monitor, T0 + 90 * S, ALL_UP)
    play(monitor, T0 + 180 * S, ALL_UP)
    assert Incident.objects.get().resolved_at is None
    play(monitor, T0 + 210 * S, ALL_UP)
    assert Incident.objects.get().resolved_at is not None


def test_failing_again_while_validating_is_on_the_incident_timeline(make_monitor):
    monitor = make_monitor(recovery_period=120)
    play(monitor, T0, DOWN_TWICE)
    play(monitor, T0 + 30 * S, ALL_UP)
    play(monitor, T0 + 60 * S, DOWN_TWICE)
    assert list(Incident.objects.get().events.values_list("kind", flat=True)) == ["started", "validating", "failing"]


def test_an_outage_resolved_by_hand_while_the_target_still_fails_opens_a_new_incident(make_monitor):
    monitor = make_monitor()
    play(monitor, T0, DOWN_TWICE)
    first = Incident.objects.get()
    resolve_incident(first.pk, by="someone@example.com", now=T0 + 10 * S)
    play(monitor, T0 + 30 * S, DOWN_TWICE)
    assert monitor.status == "down"
    assert Incident.objects.count() == 2
    assert Incident.objects.open().get().pk != first.pk


def test_flapping_does_not_open_a_second_incident_while_one_is_open(make_monitor):
    monitor = make_monitor(recovery_period=300)
    for step, votes in enumerate([DOWN_TWICE, ALL_UP, DOWN_TWICE, ALL_UP, DOWN_TWICE, ALL_UP, DOWN_TWICE]):
        play(monitor, T0 + step * 30 * S, votes)
    assert Incident.objects.count() == 1
    assert Incident.objects.get().resolved_at is None
    assert monitor.status == "down"


def test_a_new_outage_after_recovery_opens_a_new_incident(make_monitor):
    monitor = make_monitor(recovery_period=0)
    play(monitor, T0, DOWN_TWICE)
    play(monitor, T0 + 30 * S, ALL_UP)
    play(monitor, T0 + 60 * S, DOWN_TWICE)
    assert Incident.objects.count() == 2
    assert Incident.objects.filter(resolved_at__isnull=True).count() == 1


def test_a_round_closed_after_a_newer_one_changes_nothing(make_monitor):
    from monitors.aggregator import close_overdue_rounds, record_outcomes
    from tests.monitors.conftest import message_for, run_round

    monitor = make_monitor()
    older = run_round(monitor, now=T0)
    record_outcomes(message_for(older, "us", "down"), now=T0 + S)
    record_outcomes(message_for(older, "eu", "down"), now=T0 + S)
    play(monitor, T0 + 30 * S, ALL_UP)
    close_overdue_rounds(now=older.deadline + S)
    older.refresh_from_db()
    monitor.refresh_from_db()
    assert older.verdict == "down"
    assert monitor.status == "up"
    assert not Incident.objects.exists()


def test_a_verdict_for_a_paused_monitor_changes_nothing(make_monitor):
    from monitors.aggregator import record_outcomes
    from monitors.models import Monitor
    from tests.monitors.conftest import message_for, run_round

    monitor = make_monitor()
    round_ = run_round(monitor, now=T0)
    Monitor.objects.filter(pk=monitor.pk).update(paused_at=T0, status="paused")
    for region in ("us", "eu", "as"):
        record_outcomes(message_for(round_, region, "down"), now=T0 + S)
    monitor.refresh_from_db()
    assert monitor.status == "paused"
    assert not Incident.objects.exists()
