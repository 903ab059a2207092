"""Constraints that belong in the database hold there, whatever the code above them does."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import Incident
from heartbeats.models import Heartbeat, Ping
from monitors.models import CheckResult, Monitor
from teams.models import Membership

pytestmark = pytest.mark.django_db


def make_incident(team, **fields):
    values = {
        "team": team,
        "source_type": "monitor",
        "source_id": 7,
        "cause": "Status 503",
        "started_at": timezone.now(),
    }
    values.update(fields)
    return Incident.objects.create(**values)


def test_a_second_open_incident_for_one_source_is_refused_by_the_database(team):
    make_incident(team)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_incident(team)


def test_a_new_incident_may_open_once_the_previous_one_is_resolved(team):
    now = timezone.now()
    make_incident(team, resolved_at=now, status="Resolved")
    assert make_incident(team).pk


def test_monitor_and_heartbeat_with_the_same_id_may_both_have_an_open_incident(team):
    make_incident(team, source_type="monitor", source_id=1)
    assert make_incident(team, source_type="heartbeat", source_id=1).pk


def test_manual_incidents_need_no_source_and_may_be_open_together(team):
    make_incident(team, source_type="manual", source_id=None)
    assert make_incident(team, source_type="manual", source_id=None).pk


def test_a_resolved_incident_must_say_resolved(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_incident(team, resolved_at=timezone.now(), status="Started")


@pytest.mark.parametrize("field", ["check_frequency", "request_timeout"])
def test_monitor_frequencies_and_timeouts_must_be_positive(team, field):
    with pytest.raises(IntegrityError), transaction.atomic():
        Monitor.objects.create(team=team, url="https://example.com", **{field: 0})


def test_a_zero_quorum_is_refused(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Monitor.objects.create(team=team, url="https://example.com", quorum=0)


def test_heartbeat_period_must_be_positive(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Heartbeat.objects.create(team=team, name="backup", period=0)


def test_ping_exit_codes_stay_within_0_to_255(team):
    heartbeat = Heartbeat.objects.create(team=team, name="backup")
    with pytest.raises(IntegrityError), transaction.atomic():
        Ping.objects.create(heartbeat=heartbeat, created_at=timezone.now(), kind="fail", exit_code=256, method="GET")


def test_heartbeat_tokens_carry_at_least_128_bits_and_differ(team):
    first = Heartbeat.objects.create(team=team, name="a")
    second = Heartbeat.objects.create(team=team, name="b")
    # token_urlsafe: 6 bits per character.
    assert len(first.token) * 6 >= 128
    assert first.token != second.token


def test_a_region_votes_once_per_round(team):
    monitor = Monitor.objects.create(team=team, url="https://example.com")
    now = timezone.now()
    CheckResult.objects.create(monitor=monitor, scheduled_at=now, region="eu", outcome="up", checked_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckResult.objects.create(monitor=monitor, scheduled_at=now, region="eu", outcome="down", checked_at=now)


def test_a_team_has_one_on_call_member(team, django_user_model):
    first = django_user_model.objects.create_user("a")
    second = django_user_model.objects.create_user("b")
    Membership.objects.create(team=team, user=first, on_call=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(team=team, user=second, on_call=True)


def test_default_quorum_is_a_majority_of_the_monitors_regions(team):
    assert Monitor(team=team, regions=["us", "eu", "as"]).effective_quorum == 2
    assert Monitor(team=team, regions=["us", "eu"]).effective_quorum == 2
    assert Monitor(team=team, regions=["us", "eu", "as"], quorum=1).effective_quorum == 1
