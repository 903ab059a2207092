"""DELETE /api/v3/incidents/{id} and /api/v3/incidents/{id}/comments.

Deleting an open incident resolves it first — its recovery goes to everyone who was
alerted, through the real outbox — and the timeline records both. A deleted incident is
gone from the API and no longer counts as downtime.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.incidents import Alerting, IncidentFacts, open_incident
from alerts.models import Incident, IncidentEvent, Notification, NotificationStatus
from monitors.models import Monitor
from teams.models import Membership

NOT_FOUND = {"errors": "Resource with provided ID was not found"}


@pytest.fixture
def monitor(team):
    return Monitor.objects.create(team=team, url="https://eleva.care/api/healthcheck", pronounceable_name="Quick")


def open_on(monitor, *, now=None):
    return open_incident(
        team_id=monitor.team_id,
        source_type="monitor",
        source_id=monitor.pk,
        facts=IncidentFacts(cause="Status 503", name="Quick", url=monitor.url, http_method="get"),
        alerting=Alerting.of(monitor),
        now=now or timezone.now(),
    )


def test_deleting_an_open_incident_resolves_it_first_and_is_a_204(api, monitor):
    incident = open_on(monitor)

    response = api.delete(f"/api/v3/incidents/{incident.pk}")

    assert (response.status_code, response.content) == (204, b"")
    incident.refresh_from_db()
    assert incident.resolved_at is not None and incident.deleted_at is not None
    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", "actor"))
    assert kinds[-2:] == [("resolved", "API token tests"), ("deleted", "API token tests")]


def test_a_deleted_open_incident_still_tells_those_alerted_that_it_is_over(api, monitor, team, django_user_model):
    ana = django_user_model.objects.create_user("ana", email="ana@example.com")
    Membership.objects.create(team=team, user=ana, on_call=True)
    incident = open_on(monitor)
    Notification.objects.filter(incident=incident).update(status=NotificationStatus.DELIVERED)

    api.delete(f"/api/v3/incidents/{incident.pk}")

    recovery = Notification.objects.get(incident=incident, event="recovery")
    assert (recovery.recipient, recovery.kind, recovery.status) == (f"user:{ana.pk}", "email", "pending")


def test_a_deleted_incident_is_gone_from_the_api(api, monitor):
    incident = open_on(monitor)
    api.delete(f"/api/v3/incidents/{incident.pk}")

    assert api.get(f"/api/v3/incidents/{incident.pk}").json() == NOT_FOUND
    assert api.get("/api/v3/incidents").json()["data"] == []
    assert api.delete(f"/api/v3/incidents/{incident.pk}").status_code == 404
    assert api.get(f"/api/v3/incidents/{incident.pk}/comments").status_code == 404
    assert api.post(f"/api/v3/incidents/{incident.pk}/resolve", {}).status_code == 404


def test_a_deleted_incident_no_longer_counts_against_the_sla(api, monitor):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    Monitor.objects.filter(pk=monitor.pk).update(created_at=start - timedelta(days=30))
    kept = Incident.objects.create(
        team=monitor.team,
        source_type="monitor",
        source_id=monitor.pk,
        started_at=start,
        resolved_at=start + timedelta(minutes=10),
        status="Resolved",
    )
    false_alarm = Incident.objects.create(
        team=monitor.team,
        source_type="monitor",
        source_id=monitor.pk,
        started_at=start + timedelta(days=1),
        resolved_at=start + timedelta(days=1, minutes=50),
        status="Resolved",
    )

    assert api.delete(f"/api/v3/incidents/{false_alarm.pk}").status_code == 204
    sla = api.get(f"/api/v2/monitors/{monitor.pk}/sla", {"from": "2026-11-01", "to": "2026-11-02"}).json()

    assert sla["data"]["attributes"]["number_of_incidents"] == 1
    assert sla["data"]["attributes"]["total_downtime"] == 600
    assert Incident.objects.get(pk=kept.pk).deleted_at is None


def test_deleting_a_resolved_incident_adds_only_the_deletion_to_its_timeline(api, monitor):
    incident = open_on(monitor)
    api.post(f"/api/v3/incidents/{incident.pk}/resolve", {"resolved_by": "ana"})

    api.delete(f"/api/v3/incidents/{incident.pk}")

    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds == ["started", "resolved", "deleted"]
    assert Incident.objects.get(pk=incident.pk).resolved_by == "ana"


def test_the_monitor_can_open_a_new_incident_after_its_open_one_was_deleted(api, monitor):
    first = open_on(monitor)
    api.delete(f"/api/v3/incidents/{first.pk}")

    second = open_on(monitor)

    assert second is not None and second.pk != first.pk


# --- comments ------------------------------------------------------------------------------------


def test_a_comment_is_added_to_the_timeline_and_listed(api, monitor):
    incident = open_on(monitor)

    created = api.post(f"/api/v3/incidents/{incident.pk}/comments", {"content": "Rolling back deploy 4812"})
    listed = api.get(f"/api/v3/incidents/{incident.pk}/comments").json()

    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert data["type"] == "incident_comment"
    assert data["attributes"]["content"] == "Rolling back deploy 4812"
    assert data["attributes"]["created_by"] == "API token tests"
    assert data["attributes"]["user_id"] is None and data["attributes"]["user_email"] is None
    assert listed["data"] == [data]
    event = IncidentEvent.objects.get(pk=data["id"])
    assert (event.kind, event.message, event.incident_id) == ("comment", "Rolling back deploy 4812", incident.pk)


def test_comments_are_listed_oldest_first_and_paginated(api, monitor):
    incident = open_on(monitor)
    for number in range(3):
        api.post(f"/api/v3/incidents/{incident.pk}/comments", {"content": f"note {number}"})

    first = api.get(f"/api/v3/incidents/{incident.pk}/comments", {"per_page": 2}).json()
    second = api.get(first["pagination"]["next"]).json()

    contents = [c["attributes"]["content"] for c in first["data"] + second["data"]]
    assert contents == ["note 0", "note 1", "note 2"]


def test_a_resolved_incident_takes_comments_too(api, monitor):
    incident = open_on(monitor)
    api.post(f"/api/v3/incidents/{incident.pk}/resolve", {})

    assert api.post(f"/api/v3/incidents/{incident.pk}/comments", {"content": "Postmortem: DNS"}).status_code == 201


@pytest.mark.parametrize(
    "body, attribute",
    [
        ({}, "content"),
        ({"content": ""}, "content"),
        ({"content": "x" * 10_001}, "content"),
        ({"content": "a", "pin": True}, "pin"),
    ],
)
def test_a_bad_comment_is_a_422_naming_the_attribute(api, monitor, body, attribute):
    incident = open_on(monitor)

    response = api.post(f"/api/v3/incidents/{incident.pk}/comments", body)

    assert response.status_code == 422
    assert attribute in response.json()["errors"]
    assert not IncidentEvent.objects.filter(kind="comment").exists()


def test_another_teams_incident_cannot_be_commented_listed_or_deleted(api, other_team):
    theirs = Monitor.objects.create(team=other_team, url="https://theirs.example/")
    incident = open_on(theirs)

    answers = [
        api.get(f"/api/v3/incidents/{incident.pk}/comments"),
        api.post(f"/api/v3/incidents/{incident.pk}/comments", {"content": "mine now"}),
        api.delete(f"/api/v3/incidents/{incident.pk}"),
        api.delete(f"/api/v2/incidents/{incident.pk}"),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(404, NOT_FOUND)] * 4
    incident.refresh_from_db()
    assert incident.deleted_at is None and incident.resolved_at is None
    assert not IncidentEvent.objects.filter(kind="comment").exists()


def test_comments_show_on_the_admins_incident_timeline(api, monitor, admin_client):
    incident = open_on(monitor)
    api.post(f"/api/v3/incidents/{incident.pk}/comments", {"content": "Paged the DB vendor"})

    page = admin_client.get(f"/admin/alerts/incident/{incident.pk}/change/").content.decode()

    assert "Paged the DB vendor" in page
