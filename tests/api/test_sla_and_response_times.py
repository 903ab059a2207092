"""SLA and availability from incidents in a date range; response times per region for 24 h."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident
from heartbeats.models import Heartbeat
from monitors.models import CheckResult, Monitor, ResultRollup

DAY = timedelta(days=1)
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def monitor(team):
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/api/healthcheck")
    Monitor.objects.filter(pk=monitor.pk).update(created_at=NOV_1 - 30 * DAY)
    return Monitor.objects.get(pk=monitor.pk)


def incident(source, source_type, started, minutes):
    return Incident.objects.create(
        team=source.team,
        source_type=source_type,
        source_id=source.pk,
        started_at=started,
        resolved_at=started + timedelta(minutes=minutes),
        status="Resolved",
    )


def test_sla_counts_downtime_of_incidents_inside_the_range(api, monitor):
    incident(monitor, "monitor", NOV_1 + timedelta(hours=3), 10)
    incident(monitor, "monitor", NOV_1 + 2 * DAY, 20)
    incident(monitor, "monitor", NOV_1 + 20 * DAY, 60)  # outside the range

    response = api.get(f"/api/v2/monitors/{monitor.pk}/sla", {"from": "2026-11-01", "to": "2026-11-10"})

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["id"], data["type"]) == (str(monitor.pk), "monitor_sla")
    assert data["attributes"] == {
        "availability": round(100 * (1 - 1800 / (10 * 86400)), 4),
        "total_downtime": 1800,
        "number_of_incidents": 2,
        "longest_incident": 1200,
        "average_incident": 900,
    }


def test_an_incident_crossing_the_range_edge_counts_only_its_inside_part(api, monitor):
    incident(monitor, "monitor", NOV_1 - timedelta(minutes=30), 40)

    attributes = api.get(f"/api/v2/monitors/{monitor.pk}/sla", {"from": "2026-11-01", "to": "2026-11-01"}).json()[
        "data"
    ]["attributes"]

    assert attributes["total_downtime"] == 600
    assert attributes["number_of_incidents"] == 1


def test_an_open_incident_counts_until_now(api, team):
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/")
    Monitor.objects.filter(pk=monitor.pk).update(created_at=timezone.now() - timedelta(hours=1))
    Incident.objects.create(
        team=team, source_type="monitor", source_id=monitor.pk, started_at=timezone.now() - timedelta(minutes=5)
    )

    attributes = api.get(f"/api/v2/monitors/{monitor.pk}/sla").json()["data"]["attributes"]

    # Five minutes, plus however long this test took to get here.
    assert 300 <= attributes["total_downtime"] <= 360
    assert attributes["availability"] < 100


def test_time_before_the_monitor_existed_is_not_counted(api, team):
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/")
    Monitor.objects.filter(pk=monitor.pk).update(created_at=NOV_1 + timedelta(hours=12))
    incident(monitor, "monitor", NOV_1 + timedelta(hours=18), 60)

    attributes = api.get(f"/api/v2/monitors/{monitor.pk}/sla", {"from": "2026-11-01", "to": "2026-11-01"}).json()[
        "data"
    ]["attributes"]

    assert attributes["availability"] == round(100 * (1 - 3600 / (12 * 3600)), 4)


def test_other_sources_incidents_do_not_count(api, monitor, team):
    other = Monitor.objects.create(team=team, url="https://eleva.care/other")
    incident(other, "monitor", NOV_1 + DAY, 60)

    attributes = api.get(f"/api/v2/monitors/{monitor.pk}/sla", {"from": "2026-11-01", "to": "2026-11-05"}).json()[
        "data"
    ]["attributes"]

    assert attributes == {
        "availability": 100.0,
        "total_downtime": 0,
        "number_of_incidents": 0,
        "longest_incident": 0,
        "average_incident": 0,
    }


@pytest.mark.parametrize(
    "params", [{"from": "2026-13-01"}, {"from": "11/01/2026"}, {"from": "2026-11-10", "to": "2026-11-01"}]
)
def test_a_bad_range_is_a_400_with_a_string_error(api, monitor, params):
    response = api.get(f"/api/v2/monitors/{monitor.pk}/sla", params)

    assert response.status_code == 400
    assert isinstance(response.json()["errors"], str)


def test_heartbeat_availability_uses_the_heartbeats_incidents(api, team):
    heartbeat = Heartbeat.objects.create(team=team, name="Daily Database Backup")
    Heartbeat.objects.filter(pk=heartbeat.pk).update(created_at=NOV_1 - DAY)
    incident(heartbeat, "heartbeat", NOV_1 + timedelta(hours=6), 30)

    response = api.get(f"/api/v2/heartbeats/{heartbeat.pk}/availability", {"from": "2026-11-01", "to": "2026-11-01"})

    data = response.json()["data"]
    assert data["type"] == "heartbeat_availability"
    assert data["attributes"]["total_downtime"] == 1800
    assert data["attributes"]["availability"] == round(100 * (1 - 1800 / 86400), 4)


def test_response_times_are_grouped_by_region_for_the_last_day(api, team):
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/", regions=["us", "eu"])
    now = timezone.now().replace(microsecond=0)
    for minutes, region, seconds in [(5, "us", 0.2), (3, "us", 0.3), (4, "eu", 0.5), (60 * 25, "us", 9.0)]:
        at = now - timedelta(minutes=minutes)
        CheckResult.objects.create(
            monitor=monitor,
            scheduled_at=at,
            region=region,
            outcome="up",
            response_time=seconds,
            name_lookup_time=0.01,
            connection_time=0.02,
            tls_handshake_time=0.03,
            data_transfer_time=0.04,
            checked_at=at,
        )

    response = api.get(f"/api/v2/monitors/{monitor.pk}/response-times")

    data = response.json()["data"]
    assert data["type"] == "monitor_response_times"
    regions = {entry["region"]: entry["response_times"] for entry in data["attributes"]["regions"]}
    assert [point["response_time"] for point in regions["us"]] == [0.2, 0.3]
    assert [point["response_time"] for point in regions["eu"]] == [0.5]
    assert set(regions["us"][0]) == {
        "at",
        "response_time",
        "name_lookup_time",
        "connection_time",
        "tls_handshake_time",
        "data_transfer_time",
    }
    assert regions["us"][0]["at"].endswith("Z")


def test_hours_without_raw_results_are_filled_from_rollups(api, team):
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/", regions=["us"])
    hour = (timezone.now() - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    ResultRollup.objects.create(monitor=monitor, region="us", hour=hour, checks=60, failures=0, mean_response_time=0.25)

    regions = api.get(f"/api/v2/monitors/{monitor.pk}/response-times").json()["data"]["attributes"]["regions"]

    assert regions == [
        {
            "region": "us",
            "response_times": [
                {
                    "at": hour.strftime("%Y-%m-%dT%H:00:00.000Z"),
                    "response_time": 0.25,
                    "name_lookup_time": None,
                    "connection_time": None,
                    "tls_handshake_time": None,
                    "data_transfer_time": None,
                }
            ],
        }
    ]
