"""Escalation asks teams.oncall when each step fires, not when the incident opened."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.escalation import escalate_due
from alerts.incidents import Alerting, IncidentFacts, open_incident
from alerts.models import EscalationPolicy, Notification
from teams.models import Membership, OnCallCalendar, OnCallEvent, OnCallRotation

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def people(team, django_user_model):
    made = {}
    for name in ("ana", "bo", "carol"):
        made[name] = django_user_model.objects.create_user(name, email=f"{name}@example.com")
        Membership.objects.create(team=team, user=made[name])
    return made


@pytest.fixture
def hourly(team, people):
    calendar = OnCallCalendar.objects.create(team=team, is_default=True)
    OnCallRotation.objects.create(
        calendar=calendar,
        user_ids=[people["ana"].pk, people["bo"].pk],
        rotation_length=1,
        rotation_interval="hour",
        start_rotations_at=T0,
    )
    return calendar


def open_at(team, now, **alerting):
    return open_incident(
        team_id=team.pk,
        source_type="manual",
        source_id=None,
        facts=IncidentFacts(cause="Payments failing", name="Payments"),
        alerting=Alerting(**alerting),
        now=now,
    )


def paged(incident, step):
    return sorted(Notification.objects.filter(incident=incident, step=step).values_list("recipient", flat=True))


def test_the_simple_escalation_pages_whoever_is_on_call_when_the_incident_opens(team, people, hourly):
    early = open_at(team, T0 + 10 * MINUTE)
    later = open_at(team, T0 + 70 * MINUTE)

    assert paged(early, "on-call") == [f"user:{people['ana'].pk}"]
    assert paged(later, "on-call") == [f"user:{people['bo'].pk}"]


def test_a_later_policy_step_pages_whoever_is_on_call_when_it_fires(team, people, hourly):
    policy = EscalationPolicy.objects.create(
        team=team,
        name="Twice",
        steps=[
            {"type": "escalation", "wait_before": 0, "step_members": [{"type": "current_on_call"}]},
            {"type": "escalation", "wait_before": 3600, "step_members": [{"type": "current_on_call"}]},
        ],
    )
    incident = open_at(team, T0 + 10 * MINUTE, policy_id=policy.pk)

    escalate_due(now=T0 + 70 * MINUTE)

    assert paged(incident, "step-1") == [f"user:{people['ana'].pk}"]
    assert paged(incident, "step-2") == [f"user:{people['bo'].pk}"]


def test_an_override_event_pages_its_member_instead_of_the_rotations(team, people, hourly):
    OnCallEvent.objects.create(calendar=hourly, user_ids=[people["carol"].pk], starts_at=T0, ends_at=T0 + 30 * MINUTE)

    incident = open_at(team, T0 + 10 * MINUTE)

    assert paged(incident, "on-call") == [f"user:{people['carol'].pk}"]


def test_a_step_naming_a_calendar_pages_that_calendars_on_call_member(team, people, hourly):
    tier_two = OnCallCalendar.objects.create(team=team, name="Tier 2")
    OnCallRotation.objects.create(
        calendar=tier_two, user_ids=[people["carol"].pk], rotation_interval="week", start_rotations_at=T0
    )
    policy = EscalationPolicy.objects.create(
        team=team,
        name="Tier 2",
        steps=[{"wait_before": 0, "step_members": [{"type": "current_on_call", "id": str(tier_two.pk)}]}],
    )

    incident = open_at(team, T0 + MINUTE, policy_id=policy.pk)

    assert paged(incident, "step-1") == [f"user:{people['carol'].pk}"]


def test_with_nobody_on_call_and_no_fallback_the_whole_team_is_paged(team, people):
    incident = open_at(team, T0)

    assert len(paged(incident, "on-call")) == 3
