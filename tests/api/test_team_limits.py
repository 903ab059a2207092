"""PHAROS_TEAM_MAX_MONITORS and PHAROS_TEAM_MAX_HEARTBEATS: a clear 422 when reached,
exact under concurrent creates (teams.limits locks the team's row)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from heartbeats.models import Heartbeat
from monitors.models import Monitor
from teams.models import ApiToken
from tests.api.conftest import DAILY_BACKUP, QUICK_HEALTH


def test_a_team_at_its_monitor_limit_gets_a_422_naming_the_limit(api, settings):
    settings.PHAROS_TEAM_MAX_MONITORS = 2
    for _ in range(2):
        assert api.post("/api/v2/monitors", QUICK_HEALTH).status_code == 201

    response = api.post("/api/v2/monitors", QUICK_HEALTH)

    assert response.status_code == 422
    [message] = response.json()["errors"]["base"]
    assert "2 monitors" in message and "PHAROS_TEAM_MAX_MONITORS" in message
    assert Monitor.objects.count() == 2


def test_a_team_at_its_heartbeat_limit_gets_a_422_naming_the_limit(api, settings):
    settings.PHAROS_TEAM_MAX_HEARTBEATS = 1
    assert api.post("/api/v2/heartbeats", DAILY_BACKUP).status_code == 201

    response = api.post("/api/v2/heartbeats", DAILY_BACKUP)

    assert response.status_code == 422
    [message] = response.json()["errors"]["base"]
    assert "1 heartbeats" in message and "PHAROS_TEAM_MAX_HEARTBEATS" in message
    assert Heartbeat.objects.count() == 1


def test_one_teams_limit_does_not_hold_back_another_team(api, other_api, settings):
    settings.PHAROS_TEAM_MAX_MONITORS = 1
    assert api.post("/api/v2/monitors", QUICK_HEALTH).status_code == 201
    assert api.post("/api/v2/monitors", QUICK_HEALTH).status_code == 422
    assert other_api.post("/api/v2/monitors", QUICK_HEALTH).status_code == 201


def test_updating_a_monitor_of_a_full_team_still_works(api, monitor_id, settings):
    settings.PHAROS_TEAM_MAX_MONITORS = 1
    assert api.patch(f"/api/v2/monitors/{monitor_id}", {"pronounceable_name": "Renamed"}).status_code == 200


def test_deleting_makes_room_again(api, monitor_id, settings):
    settings.PHAROS_TEAM_MAX_MONITORS = 1
    assert api.delete(f"/api/v2/monitors/{monitor_id}").status_code == 204
    assert api.post("/api/v2/monitors", QUICK_HEALTH).status_code == 201


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "path, body, model, setting",
    [
        ("/api/v2/monitors", QUICK_HEALTH, Monitor, "PHAROS_TEAM_MAX_MONITORS"),
        ("/api/v2/heartbeats", DAILY_BACKUP, Heartbeat, "PHAROS_TEAM_MAX_HEARTBEATS"),
    ],
)
def test_the_limit_is_exact_under_concurrent_creates(team, settings, path, body, model, setting):
    import json

    settings.PHAROS_API_RATE_LIMIT = 0
    setattr(settings, setting, 4)
    _, raw = ApiToken.issue(team)
    creators = 12
    start = threading.Barrier(creators)
    statuses = []

    def create():
        client = Client()
        try:
            start.wait(timeout=30)
            response = client.post(
                path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()  # each thread had its own connection: the creates really raced

    threads = [threading.Thread(target=create) for _ in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [201] * 4 + [422] * 8
    assert model.objects.filter(team=team).count() == 4
