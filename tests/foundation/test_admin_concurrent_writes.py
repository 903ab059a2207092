"""The admin writes only what its form changed (alerts.alertable_admin).

A check round, a ping or a sweep may write a monitor's or a heartbeat's state between
the admin loading the row and saving the form; a full save() would put the loaded state
back (a lost update). Each test makes that write at exactly that moment: after the admin
view has read the row and validated the form, before it saves.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from heartbeats.admin import HeartbeatAdmin
from heartbeats.models import Heartbeat
from monitors.admin import MonitorAdmin
from monitors.models import Monitor
from tests.foundation.test_admin_rules import monitor_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "correct horse battery")
    client.force_login(operator)
    return client


@pytest.fixture
def write_after_the_admin_reads(monkeypatch):
    """``write(admin_class, model, **columns)``: once the admin's change view has read the
    row and validated the form, just before it saves, UPDATE ``columns`` on the row, as a
    round or a ping committing at that moment would."""

    def write(admin_class, model, **columns):
        validated = admin_class.save_form

        def save_form_then_write(self, request, form, change):
            source = validated(self, request, form, change)
            model.objects.filter(pk=source.pk).update(**columns)
            return source

        monkeypatch.setattr(admin_class, "save_form", save_form_then_write)

    return write


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


def test_a_ping_recorded_while_the_admin_form_was_saved_survives_the_save(
    operator_client, team, write_after_the_admin_reads
):
    heartbeat = Heartbeat.objects.create(team=team, name="nightly backup", period=60, grace=30, status="down")
    pinged_at = timezone.now()
    write_after_the_admin_reads(
        HeartbeatAdmin, Heartbeat, status="up", last_ping_at=pinged_at, alert_after=pinged_at + timedelta(seconds=90)
    )

    response = operator_client.post(
        reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk]),
        {
            "team": team.pk,
            "name": "renamed in the admin",
            "period": heartbeat.period,
            "grace": heartbeat.grace,
            "cron": "",
            "timezone": "UTC",
            "email": "on",
            "maintenance_days": "[]",
            "maintenance_timezone": "UTC",
            "pings-TOTAL_FORMS": "0",
            "pings-INITIAL_FORMS": "0",
            "pings-MIN_NUM_FORMS": "0",
            "pings-MAX_NUM_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    saved = Heartbeat.objects.get(pk=heartbeat.pk)
    assert saved.name == "renamed in the admin"
    assert (saved.status, saved.last_ping_at, saved.alert_after) == ("up", pinged_at, pinged_at + timedelta(seconds=90))
