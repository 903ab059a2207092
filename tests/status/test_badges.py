"""/badge/<token>.svg and .json: a monitor's or heartbeat's public badge, by an unguessable token."""

import json
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.utils import timezone

from heartbeats.models import Heartbeat
from monitors.models import Monitor
from status.badges import badge_of
from status.models import Badge

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def monitor(team):
    return Monitor.objects.create(
        team=team, url="https://internal.example.com/health?key=s3cret", pronounceable_name="Website", status="up"
    )


def _svg(client, token):
    response = client.get(f"/badge/{token}.svg")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    return ET.fromstring(response.content), response


def _texts(root):
    return [text.text for text in root.iter(f"{SVG}text")]


def test_an_up_monitor_has_a_green_svg_badge_with_its_name(client, monitor):
    root, response = _svg(client, badge_of(monitor).token)

    assert root.tag == f"{SVG}svg"
    assert _texts(root) == ["Website", "Website", "up", "up"]
    assert root.findtext(f"{SVG}title") == "Website: up"
    assert any(rect.get("fill") == "#4c1" for rect in root.iter(f"{SVG}rect"))
    assert response["Cache-Control"] == "public, max-age=30"
    assert "internal.example.com" not in response.content.decode()


def test_the_json_badge_follows_the_shields_io_endpoint_schema(client, monitor):
    response = client.get(f"/badge/{badge_of(monitor).token}.json")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "schemaVersion": 1,
        "label": "Website",
        "message": "up",
        "color": "brightgreen",
    }
    assert response["Cache-Control"] == "public, max-age=30"


@pytest.mark.parametrize(
    ("changes", "message", "color"),
    [
        ({"status": "down"}, "down", "red"),
        ({"status": "pending"}, "pending", "lightgrey"),
        ({"status": "validating"}, "up", "brightgreen"),  # a failure being confirmed: no incident yet
        ({"status": "maintenance"}, "maintenance", "blue"),
        ({"status": "paused", "paused_at": timezone.now()}, "paused", "lightgrey"),
        ({"status": "down", "paused_at": timezone.now()}, "paused", "lightgrey"),
    ],
)
def test_the_message_follows_the_monitor(client, monitor, changes, message, color):
    Monitor.objects.filter(pk=monitor.pk).update(**changes)

    document = client.get(f"/badge/{badge_of(monitor).token}.json").json()

    assert (document["message"], document["color"]) == (message, color)


def test_a_heartbeat_inside_its_maintenance_window_says_maintenance(client, team):
    now = timezone.now()
    heartbeat = Heartbeat.objects.create(
        team=team,
        name="Nightly backup",
        status="up",
        maintenance_days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        maintenance_from=(now - timedelta(hours=1)).time(),
        maintenance_to=(now + timedelta(hours=1)).time(),
        maintenance_timezone="UTC",
    )

    document = client.get(f"/badge/{badge_of(heartbeat).token}.json").json()

    assert document == {"schemaVersion": 1, "label": "Nightly backup", "message": "maintenance", "color": "blue"}


def test_a_down_heartbeat_has_a_red_badge(client, team):
    heartbeat = Heartbeat.objects.create(team=team, name="Nightly backup", status="down")

    root, _ = _svg(client, badge_of(heartbeat).token)

    assert _texts(root)[2:] == ["down", "down"]
    assert any(rect.get("fill") == "#e05d44" for rect in root.iter(f"{SVG}rect"))


def test_a_name_with_markup_is_escaped_and_the_svg_stays_valid_xml(client, team):
    heartbeat = Heartbeat.objects.create(team=team, name='<script>alert("x")</script> & "co"\x07', status="up")

    root, response = _svg(client, badge_of(heartbeat).token)

    assert _texts(root)[0] == '<script>alert("x")</script> & "co"'
    assert b"<script>" not in response.content
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_a_monitor_without_a_public_name_never_shows_its_url(client, team):
    monitor = Monitor.objects.create(team=team, url="https://10.0.0.7/admin?token=abc", status="up")

    document = client.get(f"/badge/{badge_of(monitor).token}.json").json()

    assert document["label"] == "status"


def test_an_unknown_token_or_a_deleted_source_is_a_404(client, monitor):
    token = badge_of(monitor).token
    assert client.get("/badge/not-a-token.svg").status_code == 404
    assert client.get("/badge/not-a-token.json").status_code == 404
    assert client.get(f"/badge/{token}.png").status_code == 404

    monitor.delete()

    assert client.get(f"/badge/{token}.svg").status_code == 404
    assert not Badge.objects.filter(token=token).exists()


def test_every_source_has_its_own_unguessable_token_and_keeps_it(team, monitor):
    heartbeat = Heartbeat.objects.create(team=team, name="Nightly backup")
    other = Monitor.objects.create(team=team, url="https://example.com")

    tokens = [badge_of(source).token for source in (monitor, heartbeat, other)]

    assert len(set(tokens)) == 3 and all(len(token) >= 24 for token in tokens)
    assert badge_of(monitor).token == tokens[0]


@pytest.fixture
def operator_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "correct horse battery")
    client.force_login(operator)
    return client


def test_the_monitor_admin_shows_the_badge_url_and_a_markdown_snippet(operator_client, monitor, settings):
    settings.PHAROS_BASE_URL = "https://pharos.example.com"

    html = operator_client.get(f"/admin/monitors/monitor/{monitor.pk}/change/").content.decode()

    url = f"https://pharos.example.com/badge/{Badge.objects.get(monitor=monitor).token}.svg"
    assert f"<code>{url}</code>" in html
    assert f"<code>![Website]({url})</code>" in html
    assert f'<img src="{url}"' in html
    assert "img.shields.io/endpoint?url=https%3A%2F%2Fpharos.example.com%2Fbadge%2F" in html


def test_the_heartbeat_admin_shows_its_badge(operator_client, team, settings):
    settings.PHAROS_BASE_URL = "https://pharos.example.com"
    heartbeat = Heartbeat.objects.create(team=team, name="Nightly backup")

    html = operator_client.get(f"/admin/heartbeats/heartbeat/{heartbeat.pk}/change/").content.decode()

    token = Badge.objects.get(heartbeat=heartbeat).token
    assert f"<code>![Nightly backup](https://pharos.example.com/badge/{token}.svg)</code>" in html


def test_deleting_a_badge_in_the_admin_revokes_its_url_and_the_next_view_makes_a_new_one(operator_client, monitor):
    old = badge_of(monitor)

    operator_client.post(f"/admin/status/badge/{old.pk}/delete/", {"post": "yes"})

    assert operator_client.get(f"/badge/{old.token}.svg").status_code == 404
    operator_client.get(f"/admin/monitors/monitor/{monitor.pk}/change/")
    new = Badge.objects.get(monitor=monitor)
    assert new.token != old.token
    assert operator_client.get(f"/badge/{new.token}.svg").status_code == 200
