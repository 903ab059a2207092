"""The portable path (SQLite quick start, and PostgreSQL after lost races) behaves the same."""

import pytest

from alerts.models import Incident
from heartbeats import ping as ping_service
from heartbeats.models import Heartbeat, Ping
from tests.heartbeats.conftest import ping_path

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locked_path_only(monkeypatch):
    monkeypatch.setattr(ping_service, "OPTIMISTIC_ATTEMPTS", 0)


def test_a_success_makes_it_up_and_stores_the_ping(client, heartbeat):
    assert client.post(ping_path(heartbeat), data="done", content_type="text/plain").status_code == 200

    assert Heartbeat.objects.get(pk=heartbeat.pk).status == "up"
    assert Ping.objects.get().body == "done"


def test_a_failure_opens_and_a_success_resolves_the_incident(client, up_heartbeat):
    client.post(ping_path(up_heartbeat, "/7"), data="oops", content_type="text/plain")
    incident = Incident.objects.get(source_type="heartbeat", source_id=up_heartbeat.pk)
    assert (incident.cause, incident.metadata["ping_body"]) == ("Job failed with exit code 7", "oops")

    client.get(ping_path(up_heartbeat))

    incident.refresh_from_db()
    assert incident.status == "Resolved"


def test_an_unknown_token_is_still_not_found(client):
    assert client.get("/api/v1/heartbeat/unknown").status_code == 404
