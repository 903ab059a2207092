"""Who gets a row in the outbox when an incident changes: confirmed subscribers of the
team's subscribable pages that show the incident's source — nobody else, once each."""

from django.utils import timezone

from alerts.delivery import deliver
from alerts.incidents import acknowledge_incident, resolve_incident
from alerts.models import Notification
from monitors.models import Monitor
from status.models import StatusPage, StatusPageResource, Subscriber
from tests.status.conftest import open_outage


def subscriber(page, email, *, confirmed=True):
    return Subscriber.objects.create(
        status_page=page, email=email, unsubscribe_token=email, confirmed_at=timezone.now() if confirmed else None
    )


def rows():
    return sorted(Notification.objects.values_list("recipient", "event", "address"))


def test_only_confirmed_subscribers_of_pages_showing_the_source_get_a_row_per_event(team, other_team):
    down = Monitor.objects.create(team=team, url="https://a.example.com", status="up")
    elsewhere = Monitor.objects.create(team=team, url="https://b.example.com", status="up")
    theirs = Monitor.objects.create(team=other_team, url="https://c.example.com", status="up")
    shows_it = StatusPage.objects.create(team=team, company_name="A", subdomain="a", subscribable=True)
    StatusPageResource.objects.create(status_page=shows_it, resource_type="Monitor", resource_id=down.pk)
    shows_another = StatusPage.objects.create(team=team, company_name="B", subdomain="b", subscribable=True)
    StatusPageResource.objects.create(status_page=shows_another, resource_type="Monitor", resource_id=elsewhere.pk)
    not_subscribable = StatusPage.objects.create(team=team, company_name="C", subdomain="c")
    StatusPageResource.objects.create(status_page=not_subscribable, resource_type="Monitor", resource_id=down.pk)
    other_teams = StatusPage.objects.create(team=other_team, company_name="D", subdomain="d", subscribable=True)
    StatusPageResource.objects.create(status_page=other_teams, resource_type="Monitor", resource_id=theirs.pk)
    ana = subscriber(shows_it, "ana@example.com")
    subscriber(shows_it, "pending@example.com", confirmed=False)
    subscriber(shows_another, "bo@example.com")
    subscriber(not_subscribable, "cy@example.com")
    subscriber(other_teams, "dee@example.com")

    incident = open_outage(down, at=timezone.now())
    acknowledge_incident(incident.pk, by="ana", now=timezone.now())
    resolve_incident(incident.pk, by="auto", now=timezone.now())
    resolve_incident(incident.pk, by="auto", now=timezone.now())  # a repeat writes nothing

    recipient = f"subscriber:{ana.pk}"
    assert rows() == [
        (recipient, "acknowledged", "ana@example.com"),
        (recipient, "alert", "ana@example.com"),
        (recipient, "recovery", "ana@example.com"),
    ]


def test_a_row_written_before_unsubscribing_is_skipped_not_sent(team, smtp_server):
    monitor = Monitor.objects.create(team=team, url="https://a.example.com", status="up")
    page = StatusPage.objects.create(team=team, company_name="A", subdomain="a", subscribable=True)
    StatusPageResource.objects.create(status_page=page, resource_type="Monitor", resource_id=monitor.pk)
    ana = subscriber(page, "ana@example.com")
    open_outage(monitor, at=timezone.now())
    row = Notification.objects.get(recipient=f"subscriber:{ana.pk}")

    ana.delete()

    assert deliver(row.pk, now=timezone.now()) == "skipped"
    assert not smtp_server.messages
