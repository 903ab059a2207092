"""The outbox rides inside the aggregator's transaction: its cost is a few queries, whatever the team's size."""

from datetime import timedelta

from alerts.escalation import escalate_due
from alerts.models import Channel, Notification
from tests.alerts.conftest import T0


def test_opening_an_incident_writes_its_outbox_in_a_fixed_number_of_queries(
    team, member, open_down, django_assert_max_num_queries
):
    for number in range(20):
        member(f"person{number}", on_call=number == 0, phone=f"+1555000{number:02d}")
    for number in range(5):
        Channel.objects.create(team=team, kind="webhook", config={"url": f"https://hooks.example.com/{number}"})
    # Incident, timeline event, escalation, members, channels, rows, escalation update, savepoints,
    # and the team's subscribable status pages (none here; status.subscriber_mail).
    with django_assert_max_num_queries(11):
        incident = open_down(email=True, sms=True)
    assert Notification.objects.filter(incident=incident).count() == 2 + 5


def test_an_escalation_tick_costs_a_fixed_number_of_queries_per_due_incident(
    team, member, open_down, django_assert_max_num_queries
):
    for number in range(10):
        member(f"person{number}", on_call=number == 0)
    incidents = [open_down(team_wait=60) for _ in range(5)]
    # Per incident: savepoint, members, channels, rows, timeline event, escalation, release.
    with django_assert_max_num_queries(3 + 5 * 7):
        escalate_due(now=T0 + timedelta(seconds=60))
    assert Notification.objects.filter(incident__in=incidents, step="team").count() == 5 * 10
