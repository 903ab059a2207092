"""Sections, resources, status reports and status updates under /api/v2/status-pages/{id}."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.incidents import Alerting, IncidentFacts, open_incident, resolve_incident
from monitors.models import Monitor, MonitorGroup
from status.models import StatusPageResource, StatusReport
from tests.api.conftest import DEEP_HEALTH, QUICK_HEALTH


@pytest.fixture
def page_id(api):
    response = api.post("/api/v2/status-pages", {"company_name": "Eleva Care", "subdomain": "eleva", "history": 7})
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


@pytest.fixture
def section_id(api, page_id):
    response = api.post(f"/api/v2/status-pages/{page_id}/sections", {"name": "API", "position": 1})
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


@pytest.fixture
def resource_id(api, page_id, monitor_id, section_id):
    response = api.post(
        f"/api/v2/status-pages/{page_id}/resources",
        {
            "resource_id": monitor_id,
            "resource_type": "Monitor",
            "public_name": "Website",
            "explanation": "Our public site",
            "status_page_section_id": section_id,
            "position": 3,
            "widget_type": "history",
        },
    )
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def _incident(monitor_id, *, started, resolved=None):
    monitor = Monitor.objects.get(pk=monitor_id)
    incident = open_incident(
        team_id=monitor.team_id,
        source_type="monitor",
        source_id=monitor.pk,
        facts=IncidentFacts(cause="Status 503", url=monitor.url, regions=["us"]),
        alerting=Alerting(email=False),
        now=started,
    )
    if resolved is not None:
        resolve_incident(incident.pk, by="tests", now=resolved)
    return incident


# --- sections ------------------------------------------------------------------------------


def test_sections_crud(api, page_id, section_id):
    section = api.get(f"/api/v2/status-pages/{page_id}/sections/{section_id}").json()["data"]
    assert section["type"] == "status_page_section"
    assert section["attributes"] == {"name": "API", "position": 1}

    patched = api.patch(f"/api/v2/status-pages/{page_id}/sections/{section_id}", {"name": "Public API"})
    assert patched.json()["data"]["attributes"]["name"] == "Public API"
    assert [s["id"] for s in api.get(f"/api/v2/status-pages/{page_id}/sections").json()["data"]] == [section_id]
    assert api.delete(f"/api/v2/status-pages/{page_id}/sections/{section_id}").status_code == 204
    assert api.get(f"/api/v2/status-pages/{page_id}/sections/{section_id}").status_code == 404


def test_a_section_is_only_found_under_its_own_page(api, page_id, section_id):
    other_page = api.post("/api/v2/status-pages", {"company_name": "B", "subdomain": "b"}).json()["data"]["id"]

    assert api.get(f"/api/v2/status-pages/{other_page}/sections/{section_id}").status_code == 404
    assert api.get(f"/api/v2/status-pages/{page_id}/sections/not-a-number").status_code == 404
    assert api.get("/api/v2/status-pages/abc/sections").status_code == 404


def test_sections_are_paginated(api, page_id):
    for number in range(3):
        api.post(f"/api/v2/status-pages/{page_id}/sections", {"name": f"S{number}", "position": number})

    first = api.get(f"/api/v2/status-pages/{page_id}/sections", {"per_page": 2}).json()

    assert [s["attributes"]["name"] for s in first["data"]] == ["S0", "S1"]
    assert first["pagination"]["next"].endswith("page=2")


def test_an_invalid_section_is_a_422(api, page_id):
    response = api.post(f"/api/v2/status-pages/{page_id}/sections", {"name": "x", "position": "first"})

    assert response.status_code == 422 and "position" in response.json()["errors"]


# --- resources -----------------------------------------------------------------------------


def test_a_resource_with_every_attribute(api, page_id, resource_id, monitor_id, section_id):
    data = api.get(f"/api/v2/status-pages/{page_id}/resources/{resource_id}").json()["data"]

    assert data["type"] == "status_page_resource"
    attributes = data["attributes"]
    assert {k: attributes[k] for k in ("resource_id", "resource_type", "public_name", "explanation")} == {
        "resource_id": monitor_id,
        "resource_type": "Monitor",
        "public_name": "Website",
        "explanation": "Our public site",
    }
    assert (attributes["status_page_section_id"], attributes["position"], attributes["widget_type"]) == (
        section_id,
        3,
        "history",
    )
    # A monitor that has not run its first check yet is not monitored.
    assert attributes["status"] == "not_monitored"
    assert attributes["availability"] == 1.0
    assert len(attributes["status_history"]) == 7
    assert set(attributes["status_history"][0]) == {"day", "status", "downtime_duration", "maintenance_duration"}


def test_status_availability_and_history_come_from_the_monitors_incidents(api, page_id, resource_id, monitor_id):
    now = timezone.now()
    Monitor.objects.filter(pk=monitor_id).update(status="up", created_at=now - timedelta(days=30))
    yesterday_noon = datetime.combine((now - timedelta(days=1)).date(), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    _incident(monitor_id, started=yesterday_noon, resolved=yesterday_noon + timedelta(minutes=30))

    before = api.get(f"/api/v2/status-pages/{page_id}/resources/{resource_id}").json()["data"]["attributes"]
    assert before["status"] == "operational"
    days = {day["day"]: day for day in before["status_history"]}
    assert days[yesterday_noon.date().isoformat()] == {
        "day": yesterday_noon.date().isoformat(),
        "status": "downtime",
        "downtime_duration": 1800,
        "maintenance_duration": 0,
    }
    assert days[now.date().isoformat()]["status"] == "operational"
    whole = (now - datetime.combine(now.date() - timedelta(days=6), datetime.min.time(), tzinfo=UTC)).total_seconds()
    assert before["availability"] == pytest.approx(1 - 1800 / whole, abs=1e-5)

    _incident(monitor_id, started=timezone.now())
    after = api.get(f"/api/v2/status-pages/{page_id}/resources/{resource_id}").json()["data"]["attributes"]
    assert after["status"] == "downtime"
    page = api.get(f"/api/v2/status-pages/{page_id}").json()["data"]["attributes"]
    assert page["aggregate_state"] == "downtime"


def test_a_group_resource_is_as_bad_as_its_worst_member(api, team, page_id):
    group = MonitorGroup.objects.create(team=team, name="Backend")
    quick = api.post("/api/v2/monitors", {**QUICK_HEALTH, "monitor_group_id": str(group.pk)}).json()["data"]["id"]
    deep = api.post("/api/v2/monitors", {**DEEP_HEALTH, "monitor_group_id": str(group.pk)}).json()["data"]["id"]
    Monitor.objects.filter(pk__in=[quick, deep]).update(status="up")
    resource = api.post(
        f"/api/v2/status-pages/{page_id}/resources", {"resource_id": str(group.pk), "resource_type": "MonitorGroup"}
    ).json()["data"]["id"]

    assert api.get(f"/api/v2/status-pages/{page_id}/resources/{resource}").json()["data"]["attributes"]["status"] == (
        "operational"
    )
    _incident(deep, started=timezone.now())
    assert api.get(f"/api/v2/status-pages/{page_id}/resources/{resource}").json()["data"]["attributes"]["status"] == (
        "downtime"
    )


def test_a_heartbeat_in_its_maintenance_window_is_in_maintenance(api, page_id, heartbeat_id):
    api.patch(
        f"/api/v2/heartbeats/{heartbeat_id}",
        {
            "maintenance_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "maintenance_from": "00:00:00",
            "maintenance_to": "23:59:59",
        },
    )
    resource = api.post(
        f"/api/v2/status-pages/{page_id}/resources", {"resource_id": heartbeat_id, "resource_type": "Heartbeat"}
    ).json()["data"]["id"]

    status = api.get(f"/api/v2/status-pages/{page_id}/resources/{resource}").json()["data"]["attributes"]["status"]

    assert status == "maintenance"


def test_a_resource_pointing_at_another_teams_monitor_is_a_422(api, other_api, page_id):
    foreign = other_api.post("/api/v2/monitors", QUICK_HEALTH).json()["data"]["id"]

    response = api.post(
        f"/api/v2/status-pages/{page_id}/resources", {"resource_id": foreign, "resource_type": "Monitor"}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {"resource_id": ["is not a monitor of this team"]}
    assert StatusPageResource.objects.count() == 0


def test_patching_a_resource_onto_another_teams_heartbeat_is_a_422(api, other_api, page_id, resource_id):
    foreign = other_api.post("/api/v2/heartbeats", {"name": "Theirs", "period": 3600, "grace": 60}).json()["data"]
    response = api.patch(
        f"/api/v2/status-pages/{page_id}/resources/{resource_id}",
        {"resource_id": foreign["id"], "resource_type": "Heartbeat"},
    )

    assert response.status_code == 422 and "resource_id" in response.json()["errors"]


INVALID_RESOURCES = [
    ("resource_type", {"resource_type": "Server"}),
    ("resource_id", {"resource_id": "abc"}),
    ("status_page_section_id", {"status_page_section_id": "424242"}),
    ("widget_type", {"widget_type": "pie"}),
    ("public_name", {"public_name": "two\nlines"}),
    ("statuss", {"statuss": "operational"}),
]


@pytest.mark.parametrize(
    "attribute, change", INVALID_RESOURCES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(INVALID_RESOURCES)]
)
def test_an_invalid_resource_attribute_is_a_422_naming_it(api, page_id, monitor_id, attribute, change):
    body = {"resource_id": monitor_id, "resource_type": "Monitor", **change}
    response = api.post(f"/api/v2/status-pages/{page_id}/resources", body)

    assert response.status_code == 422, response.content
    assert attribute in response.json()["errors"]


def test_resources_list_paginates_and_delete_removes(api, page_id, resource_id, heartbeat_id):
    api.post(f"/api/v2/status-pages/{page_id}/resources", {"resource_id": heartbeat_id, "resource_type": "Heartbeat"})

    listed = api.get(f"/api/v2/status-pages/{page_id}/resources", {"per_page": 1}).json()
    assert len(listed["data"]) == 1 and listed["pagination"]["next"] is not None
    assert "status_history" in listed["data"][0]["attributes"]
    assert api.delete(f"/api/v2/status-pages/{page_id}/resources/{resource_id}").status_code == 204
    assert len(api.get(f"/api/v2/status-pages/{page_id}/resources").json()["data"]) == 1


# --- status reports and updates ---------------------------------------------------------------


def test_a_maintenance_report_with_updates(api, page_id, resource_id, monitor_id):
    Monitor.objects.filter(pk=monitor_id).update(status="up")
    starts = timezone.now() - timedelta(minutes=10)
    created = api.post(
        f"/api/v2/status-pages/{page_id}/status-reports",
        {
            "title": "Database upgrade",
            "report_type": "maintenance",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "message": "We are upgrading the database.",
            "affected_resources": [{"status_page_resource_id": resource_id, "status": "maintenance"}],
        },
    )
    assert created.status_code == 201, created.content
    report = created.json()["data"]
    assert report["type"] == "status_report"
    attributes = report["attributes"]
    assert (attributes["title"], attributes["report_type"]) == ("Database upgrade", "maintenance")
    assert attributes["affected_resources"] == [{"status_page_resource_id": resource_id, "status": "maintenance"}]
    assert [u["message"] for u in attributes["status_updates"]] == ["We are upgrading the database."]
    resource = api.get(f"/api/v2/status-pages/{page_id}/resources/{resource_id}").json()["data"]["attributes"]
    assert resource["status"] == "maintenance"
    # Today's bar is coloured by the maintenance it holds (status.figures: planned seconds).
    assert resource["status_history"][-1]["status"] == "maintenance"
    assert api.get(f"/api/v2/status-pages/{page_id}").json()["data"]["attributes"]["aggregate_state"] == "maintenance"

    updates = f"/api/v2/status-pages/{page_id}/status-reports/{report['id']}/status-updates"
    update = api.post(
        updates,
        {"message": "Done.", "affected_resources": [{"status_page_resource_id": resource_id, "status": "resolved"}]},
    )
    assert update.status_code == 201, update.content
    assert update.json()["data"]["type"] == "status_update"
    assert update.json()["data"]["attributes"]["message"] == "Done."
    assert StatusReport.objects.get(pk=report["id"]).affected_resources[0]["status"] == "resolved"
    resource = api.get(f"/api/v2/status-pages/{page_id}/resources/{resource_id}").json()["data"]["attributes"]
    assert resource["status"] == "operational"
    assert len(api.get(updates).json()["data"]) == 2
    update_id = update.json()["data"]["id"]
    assert api.patch(f"{updates}/{update_id}", {"message": "Done!"}).json()["data"]["attributes"]["message"] == "Done!"
    assert api.delete(f"{updates}/{update_id}").status_code == 204


def test_a_manual_report_marks_a_resource_degraded(api, page_id, resource_id, monitor_id):
    Monitor.objects.filter(pk=monitor_id).update(status="up")
    api.post(
        f"/api/v2/status-pages/{page_id}/status-reports",
        {
            "title": "Slow logins",
            "affected_resources": [{"status_page_resource_id": resource_id, "status": "degraded"}],
        },
    )

    resource = api.get(f"/api/v2/status-pages/{page_id}/resources/{resource_id}").json()["data"]["attributes"]

    assert resource["status"] == "degraded"
    assert resource["status_history"][-1]["status"] == "degraded"


INVALID_REPORTS = [
    ("title", {"title": ""}),
    ("report_type", {"report_type": "rumour"}),
    ("starts_at", {"starts_at": "yesterday"}),
    ("ends_at", {"starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}),
    ("affected_resources", {"affected_resources": [{"status_page_resource_id": "424242", "status": "downtime"}]}),
    ("affected_resources", {"affected_resources": [{"status_page_resource_id": "1", "status": "on fire"}]}),
    ("affected_resources", {"affected_resources": "all"}),
]


@pytest.mark.parametrize(
    "attribute, change", INVALID_REPORTS, ids=[f"{a}-{i}" for i, (a, _) in enumerate(INVALID_REPORTS)]
)
def test_an_invalid_report_attribute_is_a_422_naming_it(api, page_id, attribute, change):
    response = api.post(f"/api/v2/status-pages/{page_id}/status-reports", {"title": "Outage", **change})

    assert response.status_code == 422, response.content
    assert attribute in response.json()["errors"]
    assert StatusReport.objects.count() == 0


def test_a_report_cannot_name_a_resource_of_another_page(api, page_id, resource_id):
    other_page = api.post("/api/v2/status-pages", {"company_name": "B", "subdomain": "b"}).json()["data"]["id"]

    response = api.post(
        f"/api/v2/status-pages/{other_page}/status-reports",
        {"title": "x", "affected_resources": [{"status_page_resource_id": resource_id, "status": "downtime"}]},
    )

    assert response.status_code == 422 and "affected_resources" in response.json()["errors"]


def test_reports_and_updates_of_another_team_are_404(api, other_api, page_id):
    report = api.post(f"/api/v2/status-pages/{page_id}/status-reports", {"title": "x"}).json()["data"]["id"]
    base = f"/api/v2/status-pages/{page_id}/status-reports/{report}"

    assert other_api.get(base).status_code == 404
    assert other_api.patch(base, {"title": "y"}).status_code == 404
    assert other_api.get(f"{base}/status-updates").status_code == 404
    assert other_api.post(f"{base}/status-updates", {"message": "m"}).status_code == 404
    assert api.get(f"/api/v2/status-pages/{page_id}/status-reports/999999/status-updates").status_code == 404
    assert api.patch(base, {"title": "y"}).json()["data"]["attributes"]["title"] == "y"
    assert len(api.get(f"/api/v2/status-pages/{page_id}/status-reports").json()["data"]) == 1
    assert api.delete(base).status_code == 204


def test_an_update_without_a_message_is_a_422(api, page_id):
    report = api.post(f"/api/v2/status-pages/{page_id}/status-reports", {"title": "x"}).json()["data"]["id"]

    response = api.post(f"/api/v2/status-pages/{page_id}/status-reports/{report}/status-updates", {})

    assert response.status_code == 422 and "message" in response.json()["errors"]
