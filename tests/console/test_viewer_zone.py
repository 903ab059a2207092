"""Times in the admin follow the viewer's zone (the pharos_tz cookie the pages set);
without it, or with a name that is no zone, they are in UTC. The API does not follow it."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from monitors.models import Monitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(team):
    monitor = Monitor.objects.create(team=team, url="https://shop.example.com", status="up")
    Monitor.objects.filter(pk=monitor.pk).update(last_checked_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    return monitor


def page_of(client, monitor):
    return client.get(reverse("admin:monitors_monitor_change", args=[monitor.pk])).content.decode()


def test_the_admin_shows_times_in_the_zone_of_the_cookie(operator_client, monitor):
    operator_client.cookies["pharos_tz"] = "Asia/Tokyo"

    body = page_of(operator_client, monitor)

    assert "Times in Asia/Tokyo" in body
    assert "Jan. 15, 2026, 9 p.m." in body  # 12:00 UTC


@pytest.mark.parametrize("cookie", [None, "Mars/Olympus", "../../etc/passwd"])
def test_without_a_known_zone_times_are_in_utc(operator_client, monitor, cookie):
    if cookie is not None:
        operator_client.cookies["pharos_tz"] = cookie

    body = page_of(operator_client, monitor)

    assert "Times in UTC" in body
    assert "Jan. 15, 2026, noon" in body


def test_the_pages_tell_the_server_the_viewers_zone(operator_client):
    body = operator_client.get(reverse("admin:index")).content.decode()
    assert "Intl.DateTimeFormat().resolvedOptions().timeZone" in body and "pharos_tz=" in body


def test_the_api_ignores_the_cookie(client, monitor, api_token):
    client.cookies["pharos_tz"] = "Asia/Tokyo"

    answer = client.get(f"/api/v2/monitors/{monitor.pk}", headers={"Authorization": f"Bearer {api_token}"})

    assert answer.status_code == 200
    assert answer.json()["data"]["attributes"]["last_checked_at"].startswith("2026-01-15T12:00:00")
