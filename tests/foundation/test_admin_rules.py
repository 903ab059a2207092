"""The admin keeps the API's rules: request timeouts (monitors.types) and per-team limits
(teams.limits); and it writes only what its form changed (alerts.alertable_admin), so a
state a check round wrote while the form was being saved survives the save."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from heartbeats.models import Heartbeat
from monitors.admin import MonitorAdmin
from monitors.models import Monitor

pytestmark = pytest.mark.django_db


def monitor_form(team, **fields):
    data = {
        "team": team.pk,
        "pronounceable_name": "db",
        "monitor_type": "status",
        "url": "https://example.com/",
        "http_method": "get",
        "max_redirects": 10,
        "follow_redirects": "on",
        "remember_cookies": "on",
        "verify_ssl": "on",
        "check_frequency": 180,
        "request_timeout": 30,
        # Region and weekday checkboxes left unticked, no expected codes (console.monitor_form).
        "expected_status_codes": "",
        "maintenance_timezone": "UTC",
        "confirmation_period": 0,
        "recovery_period": 180,
        "email": "on",
        "request_headers-TOTAL_FORMS": 0,
        "request_headers-INITIAL_FORMS": 0,
    }
    data.update(fields)
    return data


def add_monitor(client, team, **fields):
    return client.post(reverse("admin:monitors_monitor_add"), monitor_form(team, **fields))


def errors_of(response):
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


def test_the_admin_refuses_a_timeout_outside_its_types_range(operator_client, team):
    response = add_monitor(operator_client, team, request_timeout=3600)
    assert "between 2 and 60 seconds" in str(errors_of(response)["request_timeout"])
    assert not Monitor.objects.exists()


def test_the_admin_refuses_a_timeout_longer_than_the_frequency(operator_client, team):
    response = add_monitor(operator_client, team, check_frequency=20, request_timeout=45)
    assert "must not exceed check_frequency" in str(errors_of(response)["request_timeout"])


def test_a_timeout_left_at_its_initial_value_takes_the_types_default(operator_client, team):
    response = add_monitor(operator_client, team, monitor_type="tcp", url="db.example.com", port="5432")
    assert response.status_code == 302
    assert Monitor.objects.get().request_timeout == 5000


def test_lowering_the_frequency_in_the_admin_lowers_an_untouched_timeout(operator_client, team):
    monitor = Monitor.objects.create(team=team, url="https://example.com/", check_frequency=120, request_timeout=60)
    data = monitor_form(team, check_frequency=15, request_timeout=60)
    response = operator_client.post(reverse("admin:monitors_monitor_change", args=[monitor.pk]), data)
    assert response.status_code == 302
    monitor.refresh_from_db()
    assert (monitor.check_frequency, monitor.request_timeout) == (15, 15)


def test_the_admin_refuses_a_monitor_for_a_team_at_its_limit(operator_client, team, settings):
    settings.PHAROS_TEAM_MAX_MONITORS = 1
    assert add_monitor(operator_client, team).status_code == 302
    response = add_monitor(operator_client, team)
    assert "PHAROS_TEAM_MAX_MONITORS" in str(errors_of(response)["team"])
    assert Monitor.objects.count() == 1


def test_the_admin_refuses_a_heartbeat_for_a_team_at_its_limit(operator_client, team, settings):
    settings.PHAROS_TEAM_MAX_HEARTBEATS = 1
    Heartbeat.objects.create(team=team, name="backup")
    response = operator_client.post(
        reverse("admin:heartbeats_heartbeat_add"),
        {
            "team": team.pk,
            "name": "another",
            "period": 3600,
            "grace": 300,
            "timezone": "UTC",
            "maintenance_days": "[]",
            "maintenance_timezone": "UTC",
            "email": "on",
            "pings-TOTAL_FORMS": 0,
            "pings-INITIAL_FORMS": 0,
        },
    )
    assert "PHAROS_TEAM_MAX_HEARTBEATS" in str(errors_of(response)["team"])
    assert Heartbeat.objects.count() == 1


def test_a_status_a_round_wrote_while_the_admin_form_was_saved_survives_the_save(
    operator_client, team, write_after_the_admin_reads
):
    monitor = Monitor.objects.create(team=team, url="https://example.com/", status="up")
    failing_since = timezone.now() - timedelta(minutes=3)
    write_after_the_admin_reads(MonitorAdmin, Monitor, status="down", failing_since=failing_since)

    response = operator_client.post(
        reverse("admin:monitors_monitor_change", args=[monitor.pk]),
        monitor_form(team, pronounceable_name="renamed in the admin"),
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    saved = Monitor.objects.get(pk=monitor.pk)
    assert saved.pronounceable_name == "renamed in the admin"
    assert (saved.status, saved.failing_since) == ("down", failing_since)


def test_an_admin_form_that_changed_nothing_writes_nothing(operator_client, team, write_after_the_admin_reads):
    monitor = Monitor.objects.create(team=team, url="https://example.com/", pronounceable_name="db", status="up")
    write_after_the_admin_reads(MonitorAdmin, Monitor, status="validating", pronounceable_name="renamed by the API")

    response = operator_client.post(reverse("admin:monitors_monitor_change", args=[monitor.pk]), monitor_form(team))

    assert response.status_code == 302
    saved = Monitor.objects.get(pk=monitor.pk)
    # The form showed "db" and sent it back unchanged: the API's rename meanwhile stands.
    assert (saved.status, saved.pronounceable_name) == ("validating", "renamed by the API")
