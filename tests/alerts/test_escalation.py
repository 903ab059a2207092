"""Escalation: who is alerted when, on a controllable clock (``now`` passed in)."""

from datetime import timedelta

from alerts.escalation import escalate_due, validate_policy_steps
from alerts.incidents import acknowledge_incident, resolve_incident
from alerts.models import Channel, EscalationPolicy, IncidentEvent, Notification, NotificationStatus
from tests.alerts.conftest import T0


def sent(incident, **filters):
    rows = Notification.objects.filter(incident=incident, **filters).order_by("id")
    return [(row.step, row.recipient, row.kind) for row in rows]


def delivered(incident):
    """Pretend every row went out (what a worker would record) so recovery sees who heard."""
    Notification.objects.filter(incident=incident, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.DELIVERED
    )


def test_an_opened_incident_alerts_the_on_call_member_over_its_flags(member, open_down):
    ana = member("ana", on_call=True, phone="+15550101")
    member("bo")
    incident = open_down(email=True, sms=True, call=True)
    assert sent(incident) == [
        ("on-call", f"user:{ana.pk}", "email"),
        ("on-call", f"user:{ana.pk}", "sms"),
        ("on-call", f"user:{ana.pk}", "call"),
    ]
    row = Notification.objects.get(incident=incident, kind="sms")
    assert row.address == "+15550101" and row.status == NotificationStatus.PENDING


def test_the_whole_team_is_alerted_after_team_wait_and_not_before(member, open_down):
    ana = member("ana", on_call=True)
    bo = member("bo")
    incident = open_down(team_wait=180)
    escalate_due(now=T0 + timedelta(seconds=179))
    assert sent(incident, step="team") == []
    escalate_due(now=T0 + timedelta(seconds=180))
    assert sent(incident, step="team") == [("team", f"user:{ana.pk}", "email"), ("team", f"user:{bo.pk}", "email")]
    assert IncidentEvent.objects.filter(incident=incident, kind="escalated").count() == 1


def test_without_team_wait_only_the_on_call_member_is_alerted(member, open_down):
    member("ana", on_call=True)
    member("bo")
    incident = open_down(team_wait=None)
    escalate_due(now=T0 + timedelta(days=1))
    assert [step for step, _, _ in sent(incident)] == ["on-call"]


def test_acknowledging_stops_the_next_step(member, open_down):
    member("ana", on_call=True)
    member("bo")
    incident = open_down(team_wait=60)
    assert acknowledge_incident(incident.pk, by="ana@example.com", now=T0 + timedelta(seconds=30))
    escalate_due(now=T0 + timedelta(seconds=600))
    assert sent(incident, step="team") == []
    assert incident.escalation.__class__.objects.get(pk=incident.pk).due_at is None


def test_resolving_stops_the_next_step(member, open_down):
    member("ana", on_call=True)
    incident = open_down(team_wait=60)
    resolve_incident(incident.pk, by="auto", now=T0 + timedelta(seconds=10))
    escalate_due(now=T0 + timedelta(seconds=600))
    assert sent(incident, event="alert", step="team") == []


def test_with_nobody_on_call_the_whole_team_is_alerted_at_once(member, open_down):
    ana, bo = member("ana"), member("bo")
    incident = open_down()
    assert sent(incident) == [("on-call", f"user:{ana.pk}", "email"), ("on-call", f"user:{bo.pk}", "email")]


def test_team_channels_are_alerted_with_the_on_call_member(team, member, open_down):
    member("ana", on_call=True)
    hook = Channel.objects.create(team=team, kind="webhook", config={"url": "https://hooks.example.com/x"})
    Channel.objects.create(team=team, kind="slack", enabled=False, secrets={"webhook_url": "https://x"})
    incident = open_down()
    assert ("on-call", f"channel:{hook.pk}", "webhook") in sent(incident)
    assert len(sent(incident)) == 2


def test_push_reaches_the_on_call_members_own_push_channel(team, member, open_down):
    ana = member("ana", on_call=True)
    phone = Channel.objects.create(
        team=team, user=ana, kind="ntfy", config={"server_url": "https://ntfy.sh", "topic": "ana"}
    )
    incident = open_down(email=False, push=True)
    assert sent(incident) == [("on-call", f"channel:{phone.pk}", "ntfy")]


def test_policy_steps_follow_their_waits_in_order(team, member, open_down):
    ana = member("ana", on_call=True)
    bo = member("bo")
    hook = Channel.objects.create(team=team, kind="webhook", config={"url": "https://hooks.example.com/x"})
    policy = EscalationPolicy.objects.create(
        team=team,
        name="Ops",
        steps=[
            {"type": "escalation", "wait_before": 0, "step_members": [{"type": "current_on_call"}]},
            {"type": "escalation", "wait_before": 300, "step_members": [{"type": "user", "id": bo.pk}]},
            {"type": "escalation", "wait_before": 600, "step_members": [{"type": "webhook"}]},
        ],
    )
    incident = open_down(policy_id=policy.pk, email=False)
    assert sent(incident) == [("step-1", f"user:{ana.pk}", "email")]
    escalate_due(now=T0 + timedelta(seconds=299))
    assert len(sent(incident)) == 1
    escalate_due(now=T0 + timedelta(seconds=300))
    assert sent(incident)[-1] == ("step-2", f"user:{bo.pk}", "email")
    escalate_due(now=T0 + timedelta(seconds=899))
    assert len(sent(incident)) == 2
    escalate_due(now=T0 + timedelta(seconds=900))
    assert sent(incident)[-1] == ("step-3", f"channel:{hook.pk}", "webhook")


def test_a_policy_repeats_after_its_repeat_delay(team, member, open_down):
    ana = member("ana", on_call=True)
    policy = EscalationPolicy.objects.create(
        team=team,
        name="Loud",
        repeat_count=2,
        repeat_delay=120,
        steps=[{"type": "escalation", "wait_before": 0, "step_members": [{"type": "current_on_call"}]}],
    )
    incident = open_down(policy_id=policy.pk)
    escalate_due(now=T0 + timedelta(seconds=119))
    assert [s for s, _, _ in sent(incident)] == ["step-1"]
    escalate_due(now=T0 + timedelta(seconds=120))
    escalate_due(now=T0 + timedelta(seconds=240))
    escalate_due(now=T0 + timedelta(seconds=3600))
    assert sent(incident) == [
        ("step-1", f"user:{ana.pk}", "email"),
        ("step-1/repeat-1", f"user:{ana.pk}", "email"),
        ("step-1/repeat-2", f"user:{ana.pk}", "email"),
    ]


def test_a_second_tick_at_the_same_moment_writes_nothing_more(member, open_down):
    member("ana", on_call=True)
    member("bo")
    incident = open_down(team_wait=60)
    escalate_due(now=T0 + timedelta(seconds=60))
    escalate_due(now=T0 + timedelta(seconds=60))
    assert Notification.objects.filter(incident=incident).count() == 3


def test_recovery_goes_to_everyone_who_was_alerted_and_never_as_a_call(team, member, open_down):
    ana = member("ana", on_call=True, phone="+15550101")
    bo = member("bo")
    carl = member("carl")
    hook = Channel.objects.create(team=team, kind="webhook", config={"url": "https://hooks.example.com/x"})
    incident = open_down(call=True, team_wait=60)
    escalate_due(now=T0 + timedelta(seconds=60))
    delivered(incident)
    Notification.objects.filter(incident=incident, recipient=f"user:{carl.pk}").update(status=NotificationStatus.FAILED)
    resolve_incident(incident.pk, by="auto", now=T0 + timedelta(seconds=120))
    assert sorted(sent(incident, event="recovery")) == sorted(
        [
            ("recovery", f"user:{ana.pk}", "email"),
            ("recovery", f"user:{ana.pk}", "sms"),
            ("recovery", f"user:{bo.pk}", "email"),
            ("recovery", f"channel:{hook.pk}", "webhook"),
        ]
    )


def test_acknowledgement_is_announced_to_alerted_channels_not_to_people(team, member, open_down):
    member("ana", on_call=True)
    hook = Channel.objects.create(team=team, kind="pagerduty", secrets={"routing_key": "R"})
    incident = open_down()
    delivered(incident)
    acknowledge_incident(incident.pk, by="ana", now=T0 + timedelta(seconds=5))
    assert sent(incident, event="acknowledged") == [("acknowledged", f"channel:{hook.pk}", "pagerduty")]


def test_policy_validation_names_what_is_wrong():
    assert validate_policy_steps([]) == ["steps must be a non-empty list"]
    errors = validate_policy_steps([{"wait_before": -1, "step_members": [{"type": "user"}, {"type": "pager"}]}])
    assert any("wait_before" in e for e in errors)
    assert any("needs an id" in e for e in errors)
    assert any("member type must be one of" in e for e in errors)
    assert validate_policy_steps([{"wait_before": 0, "step_members": [{"type": "entire_team"}]}]) == []


def test_a_validating_incident_holds_its_next_step_until_it_fails_again(member, open_down):
    from alerts.incidents import mark_failing_again, mark_validating

    member("ana", on_call=True)
    bo = member("bo")
    incident = open_down(team_wait=60)
    mark_validating(incident.pk, now=T0 + timedelta(seconds=30))
    escalate_due(now=T0 + timedelta(seconds=90))
    assert sent(incident, step="team") == []
    mark_failing_again(incident.pk, now=T0 + timedelta(seconds=100))
    escalate_due(now=T0 + timedelta(seconds=105))
    assert (("team", f"user:{bo.pk}", "email")) in sent(incident, step="team")


def test_one_incident_with_a_broken_policy_does_not_stop_the_others_escalating(team, member, open_down):
    member("ana", on_call=True)
    bo = member("bo")
    policy = EscalationPolicy.objects.create(
        team=team,
        name="Fine",
        steps=[
            {"type": "escalation", "wait_before": 0, "step_members": [{"type": "current_on_call"}]},
            {"type": "escalation", "wait_before": 60, "step_members": [{"type": "entire_team"}]},
        ],
    )
    broken = open_down(policy_id=policy.pk)
    healthy = open_down(team_wait=60)
    # Edited in the admin's raw JSON after the incident opened: the plan can no longer be read.
    EscalationPolicy.objects.filter(pk=policy.pk).update(steps=[{"wait_before": "soon", "step_members": []}])
    moved = escalate_due(now=T0 + timedelta(seconds=60))
    assert moved == 1
    assert ("team", f"user:{bo.pk}", "email") in sent(healthy, step="team")
    assert broken.escalation.__class__.objects.get(pk=broken.pk).due_at == T0 + timedelta(seconds=120)
