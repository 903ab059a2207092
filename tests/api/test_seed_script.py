"""The seed's setup script, replayed as written, answers exactly as docs/api.md says."""

import re

from alerts.alertable import ALERTING_FIELDS
from heartbeats.models import Heartbeat
from monitors.models import Monitor
from tests.api.conftest import DAILY_BACKUP, DEEP_HEALTH, QUICK_HEALTH

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

MONITOR_ATTRIBUTES = {
    "url",
    "pronounceable_name",
    "monitor_type",
    "expected_status_codes",
    "required_keyword",
    "http_method",
    "request_body",
    "request_headers",
    "auth_username",
    "follow_redirects",
    "max_redirects",
    "remember_cookies",
    "verify_ssl",
    "ip_version",
    "port",
    "check_frequency",
    "request_timeout",
    "regions",
    "quorum",
    "confirmation_period",
    "recovery_period",
    "ssl_expiration",
    "domain_expiration",
    *ALERTING_FIELDS,  # pinned in tests/api/test_alertable_sources.py
    "monitor_group_id",
    "maintenance_days",
    "maintenance_from",
    "maintenance_to",
    "maintenance_timezone",
    "paused_at",
    "status",
    "last_checked_at",
    "created_at",
    "updated_at",
    "team_name",
}
HEARTBEAT_ATTRIBUTES = {
    "name",
    "url",
    "period",
    "grace",
    "cron",
    "timezone",
    *ALERTING_FIELDS,  # pinned in tests/api/test_alertable_sources.py
    "heartbeat_group_id",
    "sort_index",
    "maintenance_days",
    "maintenance_from",
    "maintenance_to",
    "maintenance_timezone",
    "paused_at",
    "status",
    "created_at",
    "updated_at",
    "team_name",
}


def test_quick_health_monitor_is_created_with_every_attribute_of_the_contract(api, team):
    response = api.post("/api/v2/monitors", QUICK_HEALTH)

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    data = response.json()["data"]
    assert re.fullmatch(r"\d+", data["id"])
    assert data["type"] == "monitor"
    attributes = data["attributes"]
    assert set(attributes) == MONITOR_ATTRIBUTES
    for name, value in QUICK_HEALTH.items():
        assert attributes[name] == value, name
    assert attributes["http_method"] == "get"
    assert attributes["status"] == "pending"
    assert attributes["paused_at"] is None
    assert attributes["last_checked_at"] is None
    assert attributes["quorum"] == 2
    assert attributes["request_headers"] == []
    assert attributes["ssl_expiration"] is None and attributes["policy_id"] is None
    assert attributes["team_name"] == team.name
    assert TIMESTAMP.match(attributes["created_at"]) and TIMESTAMP.match(attributes["updated_at"])
    assert "auth_password" not in attributes
    assert data["relationships"] == {"policy": {"data": None}}


def test_deep_health_monitor_is_created_alongside(api):
    assert api.post("/api/v2/monitors", QUICK_HEALTH).status_code == 201
    response = api.post("/api/v2/monitors", DEEP_HEALTH)

    assert response.status_code == 201
    attributes = response.json()["data"]["attributes"]
    assert attributes["check_frequency"] == 300
    assert attributes["pronounceable_name"] == "Eleva Care - Deep Health"
    assert Monitor.objects.count() == 2


def test_created_monitor_is_scheduled_within_one_period(api):
    response = api.post("/api/v2/monitors", QUICK_HEALTH)

    monitor = Monitor.objects.get(pk=response.json()["data"]["id"])
    assert monitor.next_check_at is not None
    # First check at a random phase within one period of the request's clock reading.
    assert -1 <= (monitor.next_check_at - monitor.created_at).total_seconds() <= 30 + 1


def test_daily_backup_heartbeat_is_created_with_its_ping_url(api, team):
    response = api.post("/api/v2/heartbeats", DAILY_BACKUP)

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["type"] == "heartbeat"
    attributes = data["attributes"]
    assert set(attributes) == HEARTBEAT_ATTRIBUTES
    for name, value in DAILY_BACKUP.items():
        assert attributes[name] == value, name
    heartbeat = Heartbeat.objects.get(pk=data["id"])
    assert attributes["url"] == f"https://pharos.example.com/api/v1/heartbeat/{heartbeat.token}"
    assert attributes["status"] == "pending"
    assert attributes["paused_at"] is None
    assert attributes["team_name"] == team.name
    assert TIMESTAMP.match(attributes["created_at"])


def test_the_whole_script_leaves_two_monitors_and_one_heartbeat_listed(api):
    for body in (QUICK_HEALTH, DEEP_HEALTH):
        assert api.post("/api/v2/monitors", body).status_code == 201
    assert api.post("/api/v2/heartbeats", DAILY_BACKUP).status_code == 201

    monitors = api.get("/api/v2/monitors").json()
    heartbeats = api.get("/api/v2/heartbeats").json()

    assert [m["attributes"]["pronounceable_name"] for m in monitors["data"]] == [
        "Eleva Care - Quick Health",
        "Eleva Care - Deep Health",
    ]
    assert [h["attributes"]["name"] for h in heartbeats["data"]] == ["Daily Database Backup"]
    assert monitors["pagination"]["next"] is None
