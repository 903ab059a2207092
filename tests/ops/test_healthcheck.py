"""GET /api/healthcheck: fast and dependency-free; ?services=true tells the truth."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.ops.helpers import closed_port, monitor_created, result, send_outcomes

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def broker_is_the_suites_redis(settings, redis_url, clean_redis):
    settings.CELERY_BROKER_URL = redis_url
    return clean_redis


def services(client):
    response = client.get("/api/healthcheck?services=true")
    return response.status_code, response.json()


def test_plain_healthcheck_answers_ok_without_a_single_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/api/healthcheck")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_plain_healthcheck_answers_ok_while_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    assert client.get("/api/healthcheck").status_code == 200


def test_healthcheck_is_never_cached(client):
    assert "no-cache" in client.get("/api/healthcheck")["Cache-Control"]


def test_services_pass_with_a_working_database_and_broker_and_no_monitors(client, broker_is_the_suites_redis):
    status, body = services(client)
    assert (status, body["status"], body["failing"]) == (200, "ok", [])
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert body["checks"]["broker"]["transport"] == "redis"


def test_an_unreachable_broker_is_named_and_answers_503(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    status, body = services(client)
    assert status == 503
    assert body["failing"] == ["broker"]


def test_failure_details_do_not_leak_hosts_or_ports(client, settings):
    port = closed_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    _, body = services(client)
    assert str(port) not in str(body)


def test_a_region_with_long_standing_monitors_and_no_results_yet_is_failing(
    client, team, now, broker_is_the_suites_redis
):
    monitor_created(team, ago=timedelta(hours=1), now=now, regions=["eu"])
    status, body = services(client)
    assert status == 503
    assert body["failing"] == ["region:eu"]
    assert body["checks"]["regions"]["eu"]["detail"].startswith("no results yet")


def test_regions_without_monitors_are_healthy(client, team, now, broker_is_the_suites_redis):
    monitor_created(team, ago=timedelta(hours=1), now=now, regions=["eu"])
    _, body = services(client)
    assert body["checks"]["regions"]["us"]["ok"]
    assert "no active monitors" in body["checks"]["regions"]["us"]["detail"]


def test_monitors_newer_than_a_stale_period_do_not_fail_their_regions(client, team, now, broker_is_the_suites_redis):
    monitor_created(team, ago=timedelta(seconds=5), now=now)
    status, body = services(client)
    assert (status, body["failing"]) == (200, [])


def test_paused_monitors_do_not_make_a_region_expected_to_report(client, team, now, broker_is_the_suites_redis):
    monitor_created(team, ago=timedelta(hours=1), now=now, paused_at=now)
    assert services(client)[0] == 200


def test_monitors_inside_a_maintenance_window_expect_no_results(client, team, now, broker_is_the_suites_redis):
    monitor_created(team, ago=timedelta(hours=1), now=now, status="maintenance")
    assert services(client)[0] == 200


def test_fresh_results_from_every_region_pass(client, team, now, broker_is_the_suites_redis):
    monitor = monitor_created(team, ago=timedelta(hours=1), now=now)
    for region in ("us", "eu", "as"):
        result(monitor, region, checked_at=now - timedelta(seconds=10))
    status, body = services(client)
    assert status == 200
    assert body["checks"]["regions"]["eu"]["last_result_age"] >= 10


def test_only_the_region_whose_last_result_is_stale_is_named(client, team, now, broker_is_the_suites_redis):
    monitor = monitor_created(team, ago=timedelta(hours=1), now=now, check_frequency=30)
    result(monitor, "us", checked_at=now - timedelta(seconds=5))
    result(monitor, "as", checked_at=now - timedelta(seconds=5))
    result(monitor, "eu", checked_at=now - timedelta(minutes=10))
    status, body = services(client)
    assert status == 503
    assert body["failing"] == ["region:eu"]
    assert body["checks"]["regions"]["eu"]["last_result_age"] >= 600


def test_the_stale_period_follows_the_fastest_monitor_of_the_region(client, team, now, broker_is_the_suites_redis):
    monitor = monitor_created(team, ago=timedelta(hours=1), now=now, check_frequency=600, regions=["eu"])
    result(monitor, "eu", checked_at=now - timedelta(minutes=10))
    assert services(client)[0] == 200


def test_an_empty_results_queue_means_a_healthy_aggregator(client, broker_is_the_suites_redis):
    _, body = services(client)
    assert body["checks"]["aggregator"] == {"ok": True, "detail": "0 batches waiting", "backlog": 0, "lag": 0.0}


def test_a_backlog_of_old_outcome_batches_names_the_aggregator(client, now, broker_is_the_suites_redis):
    send_outcomes("eu", (now - timedelta(minutes=5)).isoformat())
    send_outcomes("us", now.isoformat())
    status, body = services(client)
    assert status == 503
    assert body["failing"] == ["aggregator"]
    assert body["checks"]["aggregator"]["backlog"] == 2
    assert body["checks"]["aggregator"]["lag"] >= 300


def test_a_few_fresh_batches_waiting_are_fine(client, now, broker_is_the_suites_redis):
    send_outcomes("eu", now.isoformat())
    status, body = services(client)
    assert (status, body["checks"]["aggregator"]["backlog"]) == (200, 1)


def test_the_on_disk_broker_is_healthy_when_its_folder_is_writable(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    (tmp_path / "1700000000000_abc.results.msg").write_text("{}")
    status, body = services(client)
    assert (status, body["checks"]["broker"]["transport"]) == (200, "filesystem")
    assert body["checks"]["aggregator"]["backlog"] == 1


def test_a_missing_on_disk_broker_folder_is_named(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "gone")}
    status, body = services(client)
    assert (status, body["failing"]) == (503, ["broker"])
