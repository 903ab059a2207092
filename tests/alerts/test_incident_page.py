"""The incident's admin page: facts read-only, the source a link, a timeline, the failing
response, and acknowledge / resolve / comment buttons that use the incident services."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.incidents import Alerting, IncidentFacts, open_incident
from alerts.models import Incident, IncidentEvent, IncidentStatus
from monitors.models import CheckResult, Monitor
from tests.alerts.conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("operator", "op@example.com", "x" * 12))
    return client


@pytest.fixture
def monitor_incident(team, member):
    member("ana", on_call=True)
    monitor = Monitor.objects.create(team=team, url="https://api.example.com/health", regions=["us", "eu"])
    for region, code in (("us", 503), ("eu", 502)):
        CheckResult.objects.create(
            monitor=monitor,
            scheduled_at=T0,
            region=region,
            outcome="down",
            cause=f"Status {code}",
            status_code=code,
            response_time=0.12,
            checked_at=T0,
        )
    return open_incident(
        team_id=team.pk,
        source_type="monitor",
        source_id=monitor.pk,
        facts=IncidentFacts(
            cause="Status 503",
            name="api.example.com",
            url=monitor.url,
            regions=["us", "eu"],
            response_content="<h1>Service Unavailable</h1>",
            response_options={"status_code": 503},
            metadata={"round": T0.isoformat()},
        ),
        alerting=Alerting(),
        now=T0,
    )


def page_of(client, incident):
    return client.get(reverse("admin:alerts_incident_change", args=[incident.pk])).content.decode()


def test_the_facts_are_shown_not_offered_as_text_boxes(operator, monitor_incident):
    page = page_of(operator, monitor_incident)

    assert "Status 503" in page and "api.example.com" in page
    assert not re.search(r'<input[^>]+name="(name|cause|url)"', page)
    assert 'name="_save"' not in page


def test_the_source_links_to_the_monitors_page(operator, monitor_incident):
    page = page_of(operator, monitor_incident)

    assert f'href="{reverse("admin:monitors_monitor_change", args=[monitor_incident.source_id])}"' in page


def test_the_timeline_names_the_regions_with_their_answers_and_each_notification(operator, monitor_incident):
    page = page_of(operator, monitor_incident)

    assert "us: 503 in 120 ms, eu: 502 in 120 ms" in page
    assert "email to ana@example.com: pending" in page


def test_the_failing_response_is_shown_in_a_monospace_block(operator, monitor_incident):
    page = page_of(operator, monitor_incident)

    assert "HTTP 503" in page and "&lt;h1&gt;Service Unavailable&lt;/h1&gt;</pre>" in page


def test_the_acknowledge_button_acknowledges_as_the_operator(operator, monitor_incident):
    page = page_of(operator, monitor_incident)
    url = reverse("admin:alerts_incident_acknowledge", args=[monitor_incident.pk])
    assert f'formaction="{url}"' in page

    response = operator.post(url)

    assert response.status_code == 302
    incident = Incident.objects.get(pk=monitor_incident.pk)
    assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "operator")
    assert "Acknowledged" in page_of(operator, incident) and f'formaction="{url}"' not in page_of(operator, incident)


def test_the_resolve_button_resolves(operator, monitor_incident):
    operator.post(reverse("admin:alerts_incident_resolve", args=[monitor_incident.pk]))

    assert Incident.objects.get(pk=monitor_incident.pk).status == IncidentStatus.RESOLVED


def test_a_get_does_not_act(operator, monitor_incident):
    response = operator.get(reverse("admin:alerts_incident_resolve", args=[monitor_incident.pk]))

    assert response.status_code == 403
    assert Incident.objects.get(pk=monitor_incident.pk).resolved_at is None


def test_a_comment_joins_the_timeline_with_its_author(operator, monitor_incident):
    operator.post(reverse("admin:alerts_incident_comment", args=[monitor_incident.pk]), {"comment": "Rolling back"})

    event = IncidentEvent.objects.get(incident=monitor_incident, kind="comment")
    assert (event.message, event.actor, event.user.username) == ("Rolling back", "operator", "operator")
    assert "Rolling back" in page_of(operator, monitor_incident)


def test_a_heartbeats_failure_shows_its_output_and_exit_code(operator, team):
    incident = open_incident(
        team_id=team.pk,
        source_type="heartbeat",
        source_id=7,
        facts=IncidentFacts(
            cause="Failure ping", name="backup", metadata={"exit_code": 3, "ping_body": "disk full\nabort"}
        ),
        alerting=Alerting(),
        now=timezone.now(),
    )

    page = page_of(operator, incident)

    assert "exit code 3" in page and "disk full\nabort</pre>" in page
    assert "reached nobody" in page
