"""One alertable source: monitors and heartbeats share their alerting, maintenance and
pause fields (alerts.alertable), their validation (alerts.alertable_serializer) and one
pause / resume / reschedule rule (alerts.pausing) that the API and the admin both use."""

from dataclasses import fields
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.alertable import ALERTING_FIELDS, AlertingSettings
from alerts.incidents import Alerting
from alerts.models import Incident
from alerts.pausing import change_pause, reschedule
from heartbeats.models import Heartbeat, HeartbeatGroup
from heartbeats.pausing import HEARTBEAT_PAUSING
from monitors.models import Monitor, MonitorGroup, Round
from monitors.pausing import MONITOR_PAUSING

pytestmark = pytest.mark.django_db

MONITOR = {"url": "https://eleva.care/health", "monitor_type": "status"}
HEARTBEAT = {"name": "nightly backup", "period": 3600, "grace": 300}


def create(api, kind, body):
    answer = api.post(f"/api/v2/{kind}s", body)
    assert answer.status_code == 201, answer.content
    return answer.json()["data"]


def test_the_alerting_dataclass_reads_the_fields_and_defaults_of_the_model():
    assert tuple(field.name for field in fields(Alerting)) == ALERTING_FIELDS
    for model in (Monitor, Heartbeat, Incident):
        assert issubclass(model, AlertingSettings)
        for field in fields(Alerting):
            assert field.default == model._meta.get_field(field.name.removesuffix("_id")).get_default(), field.name


@pytest.mark.parametrize("kind, body", [("monitor", MONITOR), ("heartbeat", HEARTBEAT)])
def test_monitors_and_heartbeats_take_the_same_alerting_attributes_with_the_same_rules(api, kind, body):
    created = create(api, kind, {**body, "sms": True, "team_wait": 120, "maintenance_days": ["mon", "mon"]})
    attributes = created["attributes"]
    assert {name: attributes[name] for name in ALERTING_FIELDS} == {
        "call": False,
        "sms": True,
        "email": True,
        "push": False,
        "critical_alert": False,
        "team_wait": 120,
        "policy_id": None,
    }
    assert attributes["maintenance_days"] == ["mon"]
    refused = api.patch(f"/api/v2/{kind}s/{created['id']}", {"team_wait": -1, "maintenance_from": "22:00:00"})
    assert refused.status_code == 422
    assert set(refused.json()["errors"]) == {"team_wait"}
    half_window = api.patch(f"/api/v2/{kind}s/{created['id']}", {"maintenance_from": "22:00:00"})
    assert half_window.status_code == 422 and set(half_window.json()["errors"]) == {"maintenance_to"}


def test_the_admin_and_the_api_resume_a_heartbeat_to_the_same_state(api, admin_client):
    by_api, by_admin = (create(api, "heartbeat", {**HEARTBEAT, "name": name})["id"] for name in ("a", "b"))
    now = timezone.now()
    Heartbeat.objects.update(
        status="paused", paused_at=now, alert_after=now + timedelta(hours=1), last_start_at=now, last_ping_at=now
    )
    api.patch(f"/api/v2/heartbeats/{by_api}", {"paused": False})
    admin_client.post("/admin/heartbeats/heartbeat/", {"action": "resume", "_selected_action": [by_admin]})
    state = ("status", "paused_at", "alert_after", "last_start_at", "paused_with_group")
    rows = {row["id"]: {name: row[name] for name in state} for row in Heartbeat.objects.values("id", *state)}
    expected = {"status": "pending", "paused_at": None, "alert_after": None, "last_start_at": None}
    assert rows[int(by_api)] == rows[int(by_admin)] == {**expected, "paused_with_group": False}


@pytest.mark.parametrize(
    "model, group_model, admin_path",
    [(Monitor, MonitorGroup, "monitors/monitor"), (Heartbeat, HeartbeatGroup, "heartbeats/heartbeat")],
)
def test_resuming_a_member_of_a_paused_group_in_the_admin_lifts_only_its_own_pause(
    api, admin_client, team, model, group_model, admin_path
):
    now = timezone.now()
    group = group_model.objects.create(team=team, name="paused", paused_at=now)
    extra = {"url": "https://eleva.care/x"} if model is Monitor else {"name": "job"}
    source = model.objects.create(
        team=team, status="paused", paused_at=now, **{f"{model._meta.model_name}_group": group}, **extra
    )
    admin_client.post(f"/admin/{admin_path}/", {"action": "resume", "_selected_action": [source.pk]})
    source.refresh_from_db()
    assert (source.paused_at, source.paused_with_group) == (now, True)
    group.paused_at = None
    group.save()
    # The group's resume now resumes it: the pause left was the group's alone.
    from alerts.source_groups import GroupMembers

    GroupMembers(MONITOR_PAUSING if model is Monitor else HEARTBEAT_PAUSING).resume(group, now=now)
    source.refresh_from_db()
    assert source.paused_at is None and source.status == "pending"


def test_resuming_a_monitor_in_the_admin_phases_its_first_check_within_one_period(admin_client, team):
    now = timezone.now()
    monitor = Monitor.objects.create(
        team=team, url="https://eleva.care/x", check_frequency=600, status="paused", paused_at=now
    )
    admin_client.post("/admin/monitors/monitor/", {"action": "resume", "_selected_action": [monitor.pk]})
    monitor.refresh_from_db()
    assert monitor.status == "pending" and monitor.paused_at is None
    assert now <= monitor.next_check_at <= timezone.now() + timedelta(seconds=600)


def test_a_pause_another_writer_made_meanwhile_is_not_made_twice(team):
    """The API and the admin pausing one monitor at once: one pause, one withdrawal."""
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/x")
    stale = Monitor.objects.get(pk=monitor.pk)
    first_at = timezone.now()
    assert change_pause(MONITOR_PAUSING, monitor, paused=True, now=first_at)
    Round.objects.create(
        monitor=monitor, scheduled_at=first_at, dispatched_at=first_at, deadline=first_at + timedelta(seconds=30)
    )
    assert not change_pause(MONITOR_PAUSING, stale, paused=True, now=first_at + timedelta(seconds=1))
    assert Monitor.objects.get(pk=monitor.pk).paused_at == first_at
    # The loser did not run the pause's after-effect (closing the monitor's open rounds).
    assert Round.objects.get().closed_at is None


def test_a_schedule_edit_leaves_alone_a_deadline_a_ping_moved_meanwhile(team):
    now = timezone.now()
    heartbeat = Heartbeat.objects.create(
        team=team, name="job", status="up", period=3600, grace=300, last_ping_at=now, alert_after=now
    )
    edited = Heartbeat.objects.get(pk=heartbeat.pk)
    edited.period = 60
    pinged_at, deadline = now + timedelta(seconds=5), now + timedelta(hours=2)
    Heartbeat.objects.filter(pk=heartbeat.pk).update(last_ping_at=pinged_at, alert_after=deadline)
    assert not reschedule(HEARTBEAT_PAUSING, edited, now=now)
    assert Heartbeat.objects.get(pk=heartbeat.pk).alert_after == deadline
    fresh = Heartbeat.objects.get(pk=heartbeat.pk)
    fresh.period = 60
    assert reschedule(HEARTBEAT_PAUSING, fresh, now=now)
    assert Heartbeat.objects.get(pk=heartbeat.pk).alert_after == pinged_at + timedelta(seconds=60 + 300)


def admin_change(admin_client, monitor, **changes):
    """POST the monitor's admin change form as shown, with ``changes``."""
    page = admin_client.get(f"/admin/monitors/monitor/{monitor.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(
        {
            "team": monitor.team_id,
            # Regions, codes and days are the initial lists (console.monitor_form's widgets).
            "request_headers-TOTAL_FORMS": 0,
            "request_headers-INITIAL_FORMS": 0,
            **changes,
        }
    )
    return admin_client.post(f"/admin/monitors/monitor/{monitor.pk}/change/", data)


def test_the_monitor_admin_form_refuses_half_a_maintenance_window_and_an_unknown_zone(admin_client, team):
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/x")
    answer = admin_change(admin_client, monitor, maintenance_from="22:00", maintenance_timezone="Mars/Olympus_Mons")
    assert answer.status_code == 200  # the form again, with its errors
    errors = answer.context["adminform"].form.errors
    assert set(errors) >= {"maintenance_to", "maintenance_timezone"}, errors
    assert Monitor.objects.get(pk=monitor.pk).maintenance_from is None


def test_a_frequency_changed_in_the_admin_re_phases_the_monitor_as_a_patch_does(admin_client, team):
    far = timezone.now() + timedelta(days=1)
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/x", check_frequency=3600, next_check_at=far)
    answer = admin_change(admin_client, monitor, check_frequency=60, request_timeout=30)
    assert answer.status_code == 302, answer.context and answer.context["adminform"].form.errors
    monitor.refresh_from_db()
    assert monitor.check_frequency == 60
    assert monitor.next_check_at <= timezone.now() + timedelta(seconds=60)
