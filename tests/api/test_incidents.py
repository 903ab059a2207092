"""/api/v3/incidents (and /api/v2/incidents): list filters, manual create, acknowledge, resolve."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.alertable import ALERTING_FIELDS
from alerts.incidents import Alerting, IncidentFacts, open_incident, resolve_incident
from alerts.models import Incident, IncidentEvent
from heartbeats.models import Heartbeat
from monitors.models import Monitor

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
INCIDENT_ATTRIBUTES = {
    "name",
    "summary",
    "url",
    "http_method",
    "cause",
    "started_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "status",
    "regions",
    "response_content",
    "response_options",
    "ssl_certificate_expires_at",
    "requester_email",
    *ALERTING_FIELDS,  # pinned in tests/api/test_alertable_sources.py
    "metadata",
    "team_name",
}


@pytest.fixture
def monitor(team):
    return Monitor.objects.create(team=team, url="https://eleva.care/api/healthcheck", pronounceable_name="Quick")


@pytest.fixture
def heartbeat(team):
    return Heartbeat.objects.create(team=team, name="Daily Database Backup", period=86400, grace=1800)


def open_for(source, source_type, *, now, cause="Status 503"):
    facts = IncidentFacts(
        cause=cause,
        name=str(source),
        url=getattr(source, "url", ""),
        http_method="get" if source_type == "monitor" else "",
        regions=["us", "eu"] if source_type == "monitor" else [],
        response_content="Service Unavailable" if source_type == "monitor" else "",
    )
    return open_incident(
        team_id=source.team_id,
        source_type=source_type,
        source_id=source.pk,
        facts=facts,
        alerting=Alerting.of(source),
        now=now,
    )


@pytest.fixture
def monitor_incident(monitor):
    return open_for(monitor, "monitor", now=timezone.now())


def test_a_monitor_incident_has_every_attribute_and_names_its_monitor(api, monitor, monitor_incident, team):
    response = api.get(f"/api/v3/incidents/{monitor_incident.pk}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["id"], data["type"]) == (str(monitor_incident.pk), "incident")
    attributes = data["attributes"]
    assert set(attributes) == INCIDENT_ATTRIBUTES
    assert attributes["cause"] == "Status 503"
    assert attributes["url"] == monitor.url
    assert attributes["http_method"] == "get"
    assert attributes["status"] == "Started"
    assert attributes["regions"] == ["us", "eu"]
    assert attributes["response_content"] == "Service Unavailable"
    assert attributes["acknowledged_at"] is None and attributes["resolved_by"] is None
    assert attributes["team_name"] == team.name
    assert TIMESTAMP.match(attributes["started_at"])
    assert data["relationships"] == {"monitor": {"data": {"id": str(monitor.pk), "type": "monitor"}}}


def test_incidents_are_served_at_v2_too(api, monitor_incident):
    v2 = api.get(f"/api/v2/incidents/{monitor_incident.pk}").json()
    v3 = api.get(f"/api/v3/incidents/{monitor_incident.pk}").json()

    assert v2 == v3


def test_acknowledge_records_who_and_answers_the_incident(api, monitor_incident):
    response = api.post(f"/api/v3/incidents/{monitor_incident.pk}/acknowledge", {"acknowledged_by": "ana@eleva.care"})

    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert attributes["status"] == "Acknowledged"
    assert attributes["acknowledged_by"] == "ana@eleva.care"
    assert TIMESTAMP.match(attributes["acknowledged_at"])
    assert IncidentEvent.objects.filter(incident=monitor_incident, kind="acknowledged").count() == 1


def test_acknowledging_twice_is_a_409(api, monitor_incident):
    api.post(f"/api/v3/incidents/{monitor_incident.pk}/acknowledge")

    response = api.post(f"/api/v3/incidents/{monitor_incident.pk}/acknowledge")

    assert response.status_code == 409
    assert response.json() == {"errors": "Incident is already acknowledged"}


def test_resolve_without_a_body_names_the_token(api, monitor_incident):
    response = api.post(f"/api/v3/incidents/{monitor_incident.pk}/resolve")

    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert attributes["status"] == "Resolved"
    assert attributes["resolved_by"] == "API token tests"


def test_resolving_twice_is_a_409_and_acknowledging_a_resolved_one_too(api, monitor_incident):
    api.post(f"/api/v3/incidents/{monitor_incident.pk}/resolve", {"resolved_by": "ana@eleva.care"})

    again = api.post(f"/api/v3/incidents/{monitor_incident.pk}/resolve")
    acknowledge = api.post(f"/api/v3/incidents/{monitor_incident.pk}/acknowledge")

    assert (again.status_code, again.json()) == (409, {"errors": "Incident is already resolved"})
    assert (acknowledge.status_code, acknowledge.json()) == (409, {"errors": "Incident is already resolved"})
    assert Incident.objects.get(pk=monitor_incident.pk).resolved_by == "ana@eleva.care"


def test_an_unknown_attribute_in_acknowledge_is_a_422_and_changes_nothing(api, monitor_incident):
    response = api.post(f"/api/v3/incidents/{monitor_incident.pk}/acknowledge", {"who": "ana"})

    assert response.status_code == 422
    assert response.json() == {"errors": {"who": ["is not a known attribute"]}}
    assert Incident.objects.get(pk=monitor_incident.pk).acknowledged_at is None


def test_a_manual_incident_is_opened_with_its_flags(api, team):
    body = {
        "name": "Checkout broken",
        "summary": "Customers cannot pay",
        "requester_email": "ana@eleva.care",
        "sms": True,
    }

    response = api.post("/api/v3/incidents", body)

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["relationships"] == {}
    attributes = data["attributes"]
    assert (attributes["name"], attributes["summary"]) == ("Checkout broken", "Customers cannot pay")
    assert attributes["requester_email"] == "ana@eleva.care"
    assert (attributes["sms"], attributes["email"], attributes["call"]) == (True, True, False)
    assert attributes["status"] == "Started"
    assert Incident.objects.get(pk=data["id"]).source_type == "manual"


@pytest.mark.parametrize(
    "body, attribute",
    [
        ({"summary": "x"}, "requester_email"),
        ({"summary": "x", "requester_email": "not an email"}, "requester_email"),
        ({"requester_email": "ana@eleva.care"}, "summary"),
        ({"summary": "x", "requester_email": "ana@eleva.care", "policy_id": "123456"}, "policy_id"),
        ({"summary": "x", "requester_email": "ana@eleva.care", "severity": "high"}, "severity"),
    ],
)
def test_a_bad_manual_incident_is_a_422_and_opens_nothing(api, body, attribute):
    response = api.post("/api/v3/incidents", body)

    assert response.status_code == 422
    assert attribute in response.json()["errors"]
    assert Incident.objects.count() == 0


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture
def history(monitor, heartbeat):
    """Four incidents: an old resolved monitor one, an acknowledged heartbeat one, two open."""
    day = datetime(2026, 11, 20, 12, tzinfo=UTC)
    old = open_for(monitor, "monitor", now=day - timedelta(days=10))
    resolve_incident(old.pk, by="ana", now=day - timedelta(days=10) + timedelta(minutes=5))
    backup = open_for(heartbeat, "heartbeat", now=day, cause="Missed heartbeat")
    Incident.objects.filter(pk=backup.pk).update(acknowledged_at=day, status="Acknowledged")
    current = open_for(monitor, "monitor", now=day + timedelta(days=1))
    manual = Incident.objects.create(
        team=monitor.team, source_type="manual", name="Manual", started_at=day + timedelta(days=2)
    )
    return {"old": old, "backup": backup, "current": current, "manual": manual}


def ids_of(api, params):
    response = api.get("/api/v3/incidents", params)
    assert response.status_code == 200, response.content
    return [int(item["id"]) for item in response.json()["data"]]


def test_incidents_are_listed_newest_first(api, history):
    assert ids_of(api, {}) == [history[k].pk for k in ("manual", "current", "backup", "old")]


def test_filter_by_monitor_and_by_heartbeat(api, history, monitor, heartbeat):
    assert ids_of(api, {"monitor_id": monitor.pk}) == [history["current"].pk, history["old"].pk]
    assert ids_of(api, {"heartbeat_id": heartbeat.pk}) == [history["backup"].pk]


def test_filter_by_resolved_and_acknowledged(api, history):
    assert ids_of(api, {"resolved": "true"}) == [history["old"].pk]
    assert ids_of(api, {"resolved": "false"}) == [history[k].pk for k in ("manual", "current", "backup")]
    assert ids_of(api, {"acknowledged": "true"}) == [history["backup"].pk]


def test_filter_by_date_range(api, history):
    assert ids_of(api, {"from": "2026-11-20", "to": "2026-11-21"}) == [history["current"].pk, history["backup"].pk]
    assert ids_of(api, {"to": "2026-11-11"}) == [history["old"].pk]


@pytest.mark.parametrize(
    "params",
    [{"from": "yesterday"}, {"from": "2026-11-21", "to": "2026-11-20"}, {"monitor_id": "x"}, {"resolved": "maybe"}],
)
def test_a_bad_filter_is_a_400_with_a_string_error(api, params):
    response = api.get("/api/v3/incidents", params)

    assert response.status_code == 400
    assert isinstance(response.json()["errors"], str)


def test_incidents_have_no_patch(api, monitor_incident):
    # DELETE exists since issue #13 (tests/api/test_incident_delete_and_comments.py).
    assert api.patch(f"/api/v3/incidents/{monitor_incident.pk}", {"name": "x"}).status_code == 405
