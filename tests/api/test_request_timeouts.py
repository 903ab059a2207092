"""request_timeout keeps Better Stack's ranges and never exceeds check_frequency (monitors.types).

A timeout that was sent and breaks the rule is a 422 naming request_timeout; one that
was not sent (omitted, or stored) follows a lower frequency down instead, so clients
that never send a timeout keep working.
"""

import importlib

import pytest
from django.apps import apps

from config.jsonapi.serializers import MAX_DB_INTEGER
from monitors.models import Monitor
from tests.api.conftest import QUICK_HEALTH

TCP = {
    "url": "db.eleva.care",
    "pronounceable_name": "Eleva Care - Postgres",
    "monitor_type": "tcp",
    "port": "5432",
    "check_frequency": 30,
}

OUT_OF_RANGE = [
    ({"monitor_type": "status", "request_timeout": 1}, "between 2 and 60 seconds"),
    ({"monitor_type": "status", "request_timeout": 61, "check_frequency": 300}, "between 2 and 60 seconds"),
    ({"monitor_type": "status", "request_timeout": MAX_DB_INTEGER}, "between 2 and 60 seconds"),
    ({**TCP, "request_timeout": 499}, "between 500 and 5000 milliseconds"),
    ({**TCP, "request_timeout": 5001}, "between 500 and 5000 milliseconds"),
    ({**TCP, "monitor_type": "udp", "required_keyword": "pong", "request_timeout": 30}, "between 500 and 5000"),
    ({"url": "eleva.care", "monitor_type": "ping", "request_timeout": 60}, "between 500 and 5000 milliseconds"),
    ({"url": "1.1.1.1", "monitor_type": "dns", "request_timeout": 6000}, "between 500 and 5000 milliseconds"),
    ({"url": "mx.eleva.care", "monitor_type": "smtp", "request_timeout": 100_000}, "between 500 and 5000"),
]


def create(api, **attributes):
    return api.post("/api/v2/monitors", {**QUICK_HEALTH, **attributes})


def attributes_of(response):
    assert response.status_code in (200, 201), response.content
    return response.json()["data"]["attributes"]


@pytest.mark.parametrize("attributes, message", OUT_OF_RANGE, ids=[str(a) for a, _ in OUT_OF_RANGE])
def test_a_timeout_outside_its_types_range_is_a_422_naming_request_timeout(api, attributes, message):
    body = {key: value for key, value in QUICK_HEALTH.items() if key != "request_timeout"}
    response = api.post("/api/v2/monitors", {**body, **attributes})

    assert response.status_code == 422, response.content
    [error] = response.json()["errors"]["request_timeout"]
    assert message in error
    assert not Monitor.objects.exists()


def test_a_timeout_longer_than_the_check_frequency_is_a_422(api):
    response = create(api, check_frequency=30, request_timeout=45)

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "request_timeout": ["must not exceed check_frequency (30 s), so at most 30 seconds for status monitors"]
    }


def test_timeouts_at_the_edges_of_the_ranges_are_accepted(api):
    assert attributes_of(create(api, check_frequency=60, request_timeout=60))["request_timeout"] == 60
    assert attributes_of(create(api, request_timeout=2))["request_timeout"] == 2
    assert attributes_of(api.post("/api/v2/monitors", {**TCP, "request_timeout": 500}))["request_timeout"] == 500
    assert attributes_of(api.post("/api/v2/monitors", {**TCP, "request_timeout": 5000}))["request_timeout"] == 5000


def test_a_client_that_sends_a_frequency_and_no_timeout_keeps_working(api):
    body = {key: value for key, value in QUICK_HEALTH.items() if key != "request_timeout"}
    assert attributes_of(api.post("/api/v2/monitors", {**body, "check_frequency": 30}))["request_timeout"] == 30
    assert attributes_of(api.post("/api/v2/monitors", {**body, "check_frequency": 10}))["request_timeout"] == 10


def test_an_omitted_timeout_takes_its_types_default_in_its_unit(api):
    assert attributes_of(api.post("/api/v2/monitors", TCP))["request_timeout"] == 5000
    assert attributes_of(api.post("/api/v2/monitors", {"url": "https://eleva.care/"}))["request_timeout"] == 30


def test_an_omitted_timeout_follows_a_frequency_below_the_default_down(api, settings):
    settings.PHAROS_MIN_CHECK_FREQUENCY = 1
    assert attributes_of(api.post("/api/v2/monitors", {**TCP, "check_frequency": 3}))["request_timeout"] == 3000
    # Below a type's smallest timeout, the smallest timeout is all that is left.
    body = {key: value for key, value in QUICK_HEALTH.items() if key != "request_timeout"}
    assert attributes_of(api.post("/api/v2/monitors", {**body, "check_frequency": 1}))["request_timeout"] == 2


def test_a_patch_lowering_the_frequency_below_the_stored_timeout_lowers_the_timeout(api, monitor_id):
    api.patch(f"/api/v2/monitors/{monitor_id}", {"check_frequency": 60, "request_timeout": 60})

    attributes = attributes_of(api.patch(f"/api/v2/monitors/{monitor_id}", {"check_frequency": 20}))

    assert (attributes["check_frequency"], attributes["request_timeout"]) == (20, 20)
    assert Monitor.objects.get(pk=monitor_id).request_timeout == 20


def test_a_patch_raising_the_frequency_leaves_the_stored_timeout_alone(api, monitor_id):
    attributes = attributes_of(api.patch(f"/api/v2/monitors/{monitor_id}", {"check_frequency": 600}))
    assert attributes["request_timeout"] == QUICK_HEALTH["request_timeout"]


def test_a_patch_sending_a_timeout_above_the_new_frequency_is_a_422_and_changes_nothing(api, monitor_id):
    response = api.patch(f"/api/v2/monitors/{monitor_id}", {"check_frequency": 10, "request_timeout": 20})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["request_timeout"]
    assert Monitor.objects.get(pk=monitor_id).check_frequency == QUICK_HEALTH["check_frequency"]


def test_a_patch_to_a_type_counted_in_milliseconds_converts_the_stored_timeout(api, monitor_id):
    attributes = attributes_of(
        api.patch(f"/api/v2/monitors/{monitor_id}", {"monitor_type": "tcp", "url": "db.eleva.care", "port": "5432"})
    )
    # 5 s stored for the HTTP monitor is 5000 ms for the TCP one.
    assert attributes["request_timeout"] == 5000


def test_a_patch_of_another_attribute_brings_a_legacy_timeout_within_the_rule(api, team):
    legacy = Monitor.objects.create(
        team=team, url="https://eleva.care/", check_frequency=120, request_timeout=MAX_DB_INTEGER
    )

    attributes = attributes_of(api.patch(f"/api/v2/monitors/{legacy.pk}", {"pronounceable_name": "Legacy"}))

    assert attributes["request_timeout"] == 60


def test_the_data_migration_clamps_stored_timeouts_into_the_rule(team):
    rows = {
        "huge": Monitor.objects.create(
            team=team, url="https://a.example/", check_frequency=180, request_timeout=MAX_DB_INTEGER
        ),
        "fast": Monitor.objects.create(team=team, url="https://b.example/", check_frequency=10, request_timeout=30),
        "tiny": Monitor.objects.create(team=team, url="https://c.example/", check_frequency=1, request_timeout=1),
        "tcp_default": Monitor.objects.create(
            team=team, url="d.example", monitor_type="tcp", port="22", request_timeout=30
        ),
        "tcp_fast": Monitor.objects.create(
            team=team, url="e.example", monitor_type="tcp", port="22", check_frequency=2, request_timeout=5000
        ),
        "tcp_huge_frequency": Monitor.objects.create(
            team=team,
            url="f.example",
            monitor_type="tcp",
            port="22",
            check_frequency=MAX_DB_INTEGER,
            request_timeout=10**9,
        ),
        "fine": Monitor.objects.create(team=team, url="https://g.example/", check_frequency=60, request_timeout=45),
    }
    migration = importlib.import_module("monitors.migrations.0004_clamp_request_timeouts")

    migration.clamp(apps, None)

    timeouts = {name: Monitor.objects.get(pk=row.pk).request_timeout for name, row in rows.items()}
    assert timeouts == {
        "huge": 60,
        "fast": 10,
        "tiny": 2,
        "tcp_default": 500,
        "tcp_fast": 2000,
        "tcp_huge_frequency": 5000,
        "fine": 45,
    }
