"""Every endpoint and method: another team's object is a 404, never seen, never changed."""

import pytest
from django.utils import timezone

from alerts.models import EscalationPolicy, Incident
from heartbeats.models import Heartbeat
from monitors.models import Monitor

NOT_FOUND = {"errors": "Resource with provided ID was not found"}


@pytest.fixture
def theirs(other_team):
    """One object of every kind, all belonging to the other team."""
    monitor = Monitor.objects.create(team=other_team, url="https://theirs.example/", pronounceable_name="Theirs")
    heartbeat = Heartbeat.objects.create(team=other_team, name="Their backup")
    incident = Incident.objects.create(
        team=other_team, source_type="monitor", source_id=monitor.pk, name="Theirs", started_at=timezone.now()
    )
    policy = EscalationPolicy.objects.create(team=other_team, name="Their policy", steps=[])
    return {"monitor": monitor, "heartbeat": heartbeat, "incident": incident, "policy": policy}


REQUESTS = [
    ("get", "/api/v2/monitors/{monitor}", None),
    ("patch", "/api/v2/monitors/{monitor}", {"pronounceable_name": "Mine now"}),
    ("delete", "/api/v2/monitors/{monitor}", None),
    ("get", "/api/v2/monitors/{monitor}/response-times", None),
    ("get", "/api/v2/monitors/{monitor}/sla", None),
    ("get", "/api/v2/heartbeats/{heartbeat}", None),
    ("patch", "/api/v2/heartbeats/{heartbeat}", {"name": "Mine now"}),
    ("delete", "/api/v2/heartbeats/{heartbeat}", None),
    ("get", "/api/v2/heartbeats/{heartbeat}/availability", None),
    ("get", "/api/v3/incidents/{incident}", None),
    ("post", "/api/v3/incidents/{incident}/acknowledge", {}),
    ("post", "/api/v3/incidents/{incident}/resolve", {}),
    ("get", "/api/v2/incidents/{incident}", None),
    ("post", "/api/v2/incidents/{incident}/acknowledge", {}),
    ("post", "/api/v2/incidents/{incident}/resolve", {}),
    ("get", "/api/v3/policies/{policy}", None),
    ("patch", "/api/v3/policies/{policy}", {"name": "Mine now"}),
    ("delete", "/api/v3/policies/{policy}", None),
]


@pytest.mark.parametrize("method, template, body", REQUESTS, ids=[f"{m} {t}" for m, t, _ in REQUESTS])
def test_another_teams_object_is_not_found(api, theirs, method, template, body):
    path = template.format(**{kind: obj.pk for kind, obj in theirs.items()})
    call = getattr(api, method)

    response = call(path, body) if body is not None else call(path)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_another_teams_objects_are_unchanged_after_every_attempt(api, theirs):
    for method, template, body in REQUESTS:
        path = template.format(**{kind: obj.pk for kind, obj in theirs.items()})
        getattr(api, method)(path, body) if body is not None else getattr(api, method)(path)

    assert Monitor.objects.get(pk=theirs["monitor"].pk).pronounceable_name == "Theirs"
    assert Heartbeat.objects.get(pk=theirs["heartbeat"].pk).name == "Their backup"
    assert EscalationPolicy.objects.get(pk=theirs["policy"].pk).name == "Their policy"
    incident = Incident.objects.get(pk=theirs["incident"].pk)
    assert incident.acknowledged_at is None and incident.resolved_at is None


@pytest.mark.parametrize(
    "path", ["/api/v2/monitors", "/api/v2/heartbeats", "/api/v3/incidents", "/api/v2/incidents", "/api/v3/policies"]
)
def test_lists_show_only_the_tokens_team(api, theirs, path):
    response = api.get(path)

    assert response.status_code == 200
    assert response.json()["data"] == []


def test_filtering_incidents_by_another_teams_monitor_finds_nothing(api, theirs):
    response = api.get("/api/v3/incidents", {"monitor_id": theirs["monitor"].pk})

    assert response.json()["data"] == []


def test_the_other_team_sees_its_own_objects(other_api, theirs):
    response = other_api.get(f"/api/v2/monitors/{theirs['monitor'].pk}")

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["team_name"] == "Someone Else"


def test_created_objects_belong_to_the_tokens_team(api, other_api, team):
    response = other_api.post("/api/v2/monitors", {"url": "https://theirs.example/new"})

    assert Monitor.objects.get(pk=response.json()["data"]["id"]).team.name == "Someone Else"
    assert api.get(f"/api/v2/monitors/{response.json()['data']['id']}").status_code == 404
