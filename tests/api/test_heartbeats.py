"""/api/v2/heartbeats: validation, PATCH, pause/resume, DELETE."""

from datetime import timedelta

import pytest
from django.utils import timezone

from heartbeats.models import Heartbeat
from tests.api.conftest import DAILY_BACKUP

INVALID_ATTRIBUTES = [
    ("name", {"name": ""}),
    ("period", {"period": 5}),
    ("period", {"period": -1}),
    ("grace", {"grace": -1}),
    ("cron", {"cron": "every day at noon"}),
    ("cron", {"cron": "61 * * * *"}),
    ("timezone", {"timezone": "Europe/Atlantis"}),
    ("timezone", {"timezone": "../../etc/passwd"}),
    ("team_wait", {"team_wait": -1}),
    ("token", {"token": "chosen"}),
    ("policy_id", {"policy_id": 424242}),
    ("maintenance_days", {"maintenance_days": ["funday"]}),
]


@pytest.mark.parametrize(
    "attribute, change", INVALID_ATTRIBUTES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(INVALID_ATTRIBUTES)]
)
def test_an_invalid_attribute_is_a_422_naming_it_and_nothing_is_saved(api, attribute, change):
    response = api.post("/api/v2/heartbeats", {**DAILY_BACKUP, **change})

    assert response.status_code == 422, response.content
    assert attribute in response.json()["errors"]
    assert Heartbeat.objects.count() == 0


def test_a_cron_schedule_in_a_time_zone_is_accepted(api):
    response = api.post("/api/v2/heartbeats", {**DAILY_BACKUP, "cron": "0 2 * * *", "timezone": "Europe/Prague"})

    assert response.status_code == 201, response.content
    attributes = response.json()["data"]["attributes"]
    assert (attributes["cron"], attributes["timezone"]) == ("0 2 * * *", "Europe/Prague")


def test_the_url_is_read_only_and_ignored_when_sent_back(api, heartbeat_id):
    url = api.get(f"/api/v2/heartbeats/{heartbeat_id}").json()["data"]["attributes"]["url"]

    response = api.patch(f"/api/v2/heartbeats/{heartbeat_id}", {"url": "https://elsewhere.example/x", "grace": 60})

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["url"] == url
    assert response.json()["data"]["attributes"]["grace"] == 60


def test_patch_returns_the_whole_heartbeat(api, heartbeat_id):
    response = api.patch(f"/api/v2/heartbeats/{heartbeat_id}", {"name": "Nightly Backup"})

    attributes = response.json()["data"]["attributes"]
    assert attributes["name"] == "Nightly Backup"
    assert (attributes["period"], attributes["grace"]) == (86400, 1800)


def test_a_shorter_period_moves_the_deadline_of_an_up_heartbeat(api, heartbeat_id):
    last_ping = timezone.now() - timedelta(minutes=5)
    Heartbeat.objects.filter(pk=heartbeat_id).update(
        status="up", last_ping_at=last_ping, alert_after=last_ping + timedelta(seconds=86400 + 1800)
    )

    api.patch(f"/api/v2/heartbeats/{heartbeat_id}", {"period": 3600, "grace": 60})

    assert Heartbeat.objects.get(pk=heartbeat_id).alert_after == last_ping + timedelta(seconds=3600 + 60)


def test_pausing_and_resuming_a_heartbeat(api, heartbeat_id):
    Heartbeat.objects.filter(pk=heartbeat_id).update(status="up", alert_after=timezone.now())
    paused = api.patch(f"/api/v2/heartbeats/{heartbeat_id}", {"paused": True}).json()["data"]["attributes"]
    assert (paused["status"], paused["paused_at"] is not None) == ("paused", True)

    resumed = api.patch(f"/api/v2/heartbeats/{heartbeat_id}", {"paused": False}).json()["data"]["attributes"]

    assert (resumed["status"], resumed["paused_at"]) == ("pending", None)
    assert Heartbeat.objects.get(pk=heartbeat_id).alert_after is None


def test_delete_answers_204_and_the_heartbeat_is_gone(api, heartbeat_id):
    response = api.delete(f"/api/v2/heartbeats/{heartbeat_id}")

    assert (response.status_code, response.content) == (204, b"")
    assert not Heartbeat.objects.filter(pk=heartbeat_id).exists()


def test_deleting_a_heartbeat_resolves_its_open_incident(api, heartbeat_id):
    from alerts.incidents import Alerting, IncidentFacts, open_incident
    from alerts.models import Incident

    heartbeat = Heartbeat.objects.get(pk=heartbeat_id)
    incident = open_incident(
        team_id=heartbeat.team_id,
        source_type="heartbeat",
        source_id=heartbeat.pk,
        facts=IncidentFacts(cause="Missed heartbeat"),
        alerting=Alerting.of(heartbeat),
        now=timezone.now(),
    )

    assert api.delete(f"/api/v2/heartbeats/{heartbeat_id}").status_code == 204

    assert Incident.objects.get(pk=incident.pk).resolved_at is not None


def test_a_heartbeat_inside_its_maintenance_window_is_shown_in_maintenance(api, heartbeat_id):
    now = timezone.now()
    Heartbeat.objects.filter(pk=heartbeat_id).update(
        status="up",
        maintenance_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        maintenance_from=(now - timedelta(minutes=30)).time().replace(microsecond=0),
        maintenance_to=(now + timedelta(minutes=30)).time().replace(microsecond=0),
        maintenance_timezone="UTC",
    )

    assert api.get(f"/api/v2/heartbeats/{heartbeat_id}").json()["data"]["attributes"]["status"] == "maintenance"
    assert Heartbeat.objects.get(pk=heartbeat_id).status == "up"
