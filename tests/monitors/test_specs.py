"""Monitor rows become the probe contract's CheckSpec, with units converted."""

import json

import pytest

from monitors.models import Monitor, MonitorRequestHeader
from monitors.specs import UnbuildableMonitor, build_spec, parse_ports
from probes.spec import CheckSpec

KEY = "2026-11-28T12:00:00+00:00"


def spec_of(**fields):
    return build_spec(Monitor(pk=7, **fields), region="eu", scheduled_at=KEY, headers=[])


def test_an_http_monitor_keeps_its_timeout_in_seconds_and_upper_cases_its_method():
    spec = spec_of(url="https://example.com", monitor_type="status", request_timeout=15, http_method="post")
    assert (spec.timeout, spec.method, spec.region, spec.scheduled_at) == (15, "POST", "eu", KEY)


def test_a_tcp_monitor_timeout_in_milliseconds_becomes_seconds():
    spec = spec_of(url="db.example.com", monitor_type="tcp", request_timeout=2500, port="5432")
    assert spec.timeout == 2.5
    assert spec.ports == (5432,)


def test_a_port_list_is_parsed_into_numbers():
    assert parse_ports("25, 465,587", "smtp") == (25, 465, 587)


def test_smtp_pop_and_imap_fall_back_to_their_default_ports():
    assert spec_of(url="mail.example.com", monitor_type="smtp", request_timeout=5000).ports == (25,)
    assert spec_of(url="mail.example.com", monitor_type="pop", request_timeout=5000).ports == (110,)
    assert spec_of(url="mail.example.com", monitor_type="imap", request_timeout=5000).ports == (143,)


def test_a_port_that_is_not_a_number_cannot_be_scheduled():
    with pytest.raises(UnbuildableMonitor):
        parse_ports("80,http", "tcp")


def test_a_dns_monitor_carries_the_name_to_resolve_in_the_body():
    spec = spec_of(url="1.1.1.1", monitor_type="dns", request_body="example.com", request_timeout=3000)
    assert (spec.target, spec.body, spec.timeout) == ("1.1.1.1", "example.com", 3.0)


def test_keyword_status_codes_auth_and_tls_warning_are_carried():
    spec = spec_of(
        url="https://example.com",
        monitor_type="keyword",
        required_keyword="OK",
        expected_status_codes=[200, 204],
        auth_username="u",
        auth_password="p",
        ssl_expiration=14,
    )
    assert spec.keyword == "OK"
    assert spec.expected_status_codes == (200, 204)
    assert spec.auth == ("u", "p")
    assert spec.ssl_expiration_days == 14


@pytest.mark.django_db
def test_a_spec_survives_the_json_round_trip_of_a_task_payload(team):
    monitor = Monitor.objects.create(team=team, url="https://example.com", auth_username="u", auth_password="p")
    MonitorRequestHeader.objects.create(monitor=monitor, name="X-Token", value="abc")
    spec = build_spec(monitor, region="us", scheduled_at=KEY)
    assert CheckSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.headers == (("X-Token", "abc"),)


def test_a_spec_names_the_monitors_team_so_region_workers_can_share_fairly():
    spec = build_spec(Monitor(pk=7, team_id=42, url="https://example.com"), region="eu", scheduled_at=KEY, headers=[])
    assert spec.team_id == 42
    assert CheckSpec.from_dict(json.loads(json.dumps(spec.to_dict()))).team_id == 42


def test_a_stored_timeout_beyond_its_range_is_held_to_it_in_the_spec():
    # Rows written around the API (the ORM, an older admin, a restored backup).
    assert spec_of(url="https://example.com", monitor_type="status", request_timeout=2**31 - 1).timeout == 60
    assert spec_of(url="db.example.com", monitor_type="tcp", port="22", request_timeout=30).timeout == 0.5
    assert spec_of(url="db.example.com", monitor_type="tcp", port="22", request_timeout=10**9).timeout == 5


def test_a_stored_timeout_never_outlasts_the_check_frequency_in_the_spec():
    spec = spec_of(url="https://example.com", check_frequency=20, request_timeout=60)
    assert spec.timeout == 20


def test_the_round_deadline_allows_for_the_bounded_timeout_not_the_stored_one():
    from datetime import datetime, timedelta

    from monitors.scheduler import QUEUE_SLACK, RETURN_SLACK, round_deadline

    dispatched = datetime(2026, 11, 28, 12, 0, 0)
    monitor = Monitor(pk=7, url="https://example.com", check_frequency=180, request_timeout=2**31 - 1)
    assert (
        round_deadline(monitor, dispatched_at=dispatched)
        == dispatched + QUEUE_SLACK + timedelta(seconds=60) + RETURN_SLACK
    )
