"""Hostile request bodies get the API's own error shapes, never a 500 or a database error.

Deep nesting, lone surrogates, control characters in names and oversized bodies: each
used to reach a RecursionError, a UnicodeEncodeError, a PostgreSQL error or Django's
generic 400 (issue 11, finding 6).
"""

import json

import pytest

from alerts.models import Channel, Incident
from heartbeats.models import Heartbeat
from monitors.models import Monitor
from tests.api.conftest import DAILY_BACKUP, QUICK_HEALTH

RESOURCES = [
    "/api/v2/monitors",
    "/api/v2/heartbeats",
    "/api/v3/incidents",
    "/api/v3/channels",
    "/api/v2/monitor-groups",
]


def post_raw(api, path, text, content_type="application/json"):
    return api.client.post(path, text, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {api.token}")


@pytest.mark.parametrize("path", RESOURCES)
def test_json_nested_a_thousand_deep_is_a_400_in_the_api_shape(api, path):
    deep = "[" * 1000 + "]" * 1000

    response = post_raw(api, path, f'{{"name": {deep}}}')

    assert response.status_code == 400
    assert response.json() == {"errors": "JSON parse error - nested deeper than 32 levels"}


def test_brackets_inside_strings_do_not_count_as_nesting(api):
    keyword = "[" * 100 + '"{' * 50  # the quotes arrive escaped: \" must not end the string

    response = post_raw(api, "/api/v2/monitors", json.dumps({**QUICK_HEALTH, "required_keyword": keyword}))

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("path", "body", "attribute", "code_point"),
    [
        ("/api/v2/monitors", {**QUICK_HEALTH, "monitor_type": "\ud800"}, "monitor_type", "D800"),
        ("/api/v2/monitors", {**QUICK_HEALTH, "regions": ["us", "\udfff"]}, "regions", "DFFF"),
        ("/api/v2/heartbeats", {**DAILY_BACKUP, "timezone": "Europe/\ud800"}, "timezone", "D800"),
        (
            "/api/v3/incidents",
            {"summary": "x", "requester_email": "ana@eleva.care", "severity": "\ud800"},
            "severity",
            "D800",
        ),
    ],
)
def test_a_lone_surrogate_in_any_value_is_a_422_naming_the_attribute(api, path, body, attribute, code_point):
    response = post_raw(api, path, json.dumps(body))  # json.dumps writes it as the escape \ud800

    assert response.status_code == 422
    assert response.json()["errors"][attribute] == [
        f"must not contain lone surrogate characters (found U+{code_point})"
    ]
    assert not Monitor.objects.exists() and not Heartbeat.objects.exists() and not Incident.objects.exists()


@pytest.mark.parametrize("attribute", ["config", "secrets"])
def test_a_lone_surrogate_in_channel_settings_is_a_422_not_a_database_error(api, attribute):
    body = {
        "kind": "webhook",
        "name": "Ops hook",
        "config": {"url": "https://hooks.example.com/pharos"},
        "secrets": {"signing_secret": "s3cret"},
    }
    body[attribute] = {**body[attribute], "note": "a\ud800b"}

    response = post_raw(api, "/api/v3/channels", json.dumps(body))

    assert response.status_code == 422
    assert attribute in response.json()["errors"]
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "attribute"),
    [
        (
            "/api/v2/monitors",
            {**QUICK_HEALTH, "pronounceable_name": "Shop\r\nBcc: everyone@example.com"},
            "pronounceable_name",
        ),
        ("/api/v2/monitors", {**QUICK_HEALTH, "pronounceable_name": "Shop\u2028checkout"}, "pronounceable_name"),
        ("/api/v2/heartbeats", {**DAILY_BACKUP, "name": "Backup\nnightly"}, "name"),
        ("/api/v2/heartbeats", {**DAILY_BACKUP, "name": "Backup\x1b[31m"}, "name"),
        ("/api/v3/incidents", {"name": "Down\rhard", "requester_email": "ana@eleva.care"}, "name"),
        ("/api/v2/monitor-groups", {"name": "Front\nend"}, "name"),
        ("/api/v2/heartbeat-groups", {"name": "Nightly\x85jobs"}, "name"),
    ],
)
def test_a_control_character_in_a_name_is_a_422_naming_it(api, path, body, attribute):
    response = api.post(path, body)

    assert response.status_code == 422, response.content
    [message] = response.json()["errors"][attribute]
    assert message.startswith("must not contain control characters such as line breaks")
    assert not Monitor.objects.exists() and not Heartbeat.objects.exists() and not Incident.objects.exists()


def test_a_control_character_cannot_be_patched_into_a_name_either(api, monitor_id):
    response = api.patch(f"/api/v2/monitors/{monitor_id}", {"pronounceable_name": "Renamed\nBcc: x@example.com"})

    assert response.status_code == 422
    assert Monitor.objects.get(pk=monitor_id).pronounceable_name == QUICK_HEALTH["pronounceable_name"]


@pytest.mark.parametrize("path", ["/api/v2/monitors", "/api/v3/channels", "/api/v2/nowhere"])
def test_a_ten_megabyte_body_is_the_json_413(api, path):
    body = json.dumps({**QUICK_HEALTH, "request_body": "a" * 10_000_000})

    response = post_raw(api, path, body)

    assert response.status_code == 413
    assert response.json() == {"errors": "Request body is larger than 1000000 bytes"}
    assert not Monitor.objects.exists()


def test_a_body_just_over_the_limit_is_the_json_413_too(api):
    body = json.dumps({**QUICK_HEALTH, "request_body": "a" * 1_000_000})

    response = post_raw(api, "/api/v2/monitors", body)

    assert response.status_code == 413
    assert response.json() == {"errors": "Request body is larger than 1000000 bytes"}
