"""Every changelist and change page of the admin renders for a logged-in operator."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from alerts.models import (
    Channel,
    EscalationPolicy,
    Incident,
    IncidentEvent,
    Notification,
    OperatorEvent,
    PolicyGroup,
    ReachedNobodyNotice,
    Urgency,
)
from heartbeats.models import Heartbeat, HeartbeatGroup, Ping
from monitors.models import (
    CheckResult,
    DomainRegistration,
    LoneFailure,
    Monitor,
    MonitorGroup,
    MonitorRequestHeader,
    RegionQuarantine,
    ResultRollup,
    Round,
)
from status.models import (
    Badge,
    StatusPage,
    StatusPageGroup,
    StatusPageResource,
    StatusPageSection,
    StatusReport,
    StatusUpdate,
    Subscriber,
)
from teams.models import ApiToken, OnCallCalendar, OnCallEvent, OnCallRotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_everything(team, on_call_user):
    now = timezone.now()
    monitor = Monitor.objects.create(team=team, url="https://example.com", regions=["us", "eu"], status="down")
    MonitorRequestHeader.objects.create(monitor=monitor, name="X-Env", value="prod")
    CheckResult.objects.create(
        monitor=monitor, scheduled_at=now, region="us", outcome="down", cause="Status 503", checked_at=now
    )
    ResultRollup.objects.create(
        monitor=monitor, region="us", hour=now.replace(minute=0, second=0, microsecond=0), checks=3, failures=1
    )
    heartbeat = Heartbeat.objects.create(team=team, name="backup", status="up")
    Ping.objects.create(heartbeat=heartbeat, created_at=now, kind="fail", exit_code=3, method="POST", body="disk full")
    incident = Incident.objects.create(
        team=team, source_type="monitor", source_id=monitor.pk, cause="Status 503", started_at=now, regions=["us", "eu"]
    )
    IncidentEvent.objects.create(incident=incident, at=now, kind="started", message="Status 503")
    # Channels and the outbox (issue #6).
    channel = Channel.objects.create(team=team, kind="webhook", config={"url": "https://hooks.example.com/x"})
    Notification.objects.create(
        incident=incident,
        event="alert",
        step="on-call",
        recipient=f"channel:{channel.pk}",
        kind="webhook",
        channel=channel,
        next_attempt_at=now,
        created_at=now,
    )
    EscalationPolicy.objects.create(
        team=team,
        name="Night",
        steps=[{"type": "escalation", "wait_before": 0, "step_members": [{"type": "entire_team"}]}],
    )
    OperatorEvent.objects.create(at=now, kind="inconclusive_round", region="as", message="no answer")
    ReachedNobodyNotice.objects.create(team=team, incident=incident, created_at=now, next_attempt_at=now)
    ApiToken.issue(team)
    Group.objects.create(name="responders")
    Round.objects.create(
        monitor=monitor, scheduled_at=now, regions=["us", "eu"], dispatched_at=now, deadline=now, verdict="down"
    )
    RegionQuarantine.objects.create(region="as", reason="lone_failures", started_at=now)
    LoneFailure.objects.create(region="as", target="example.com", monitor=monitor, at=now)
    DomainRegistration.objects.create(domain="example.com", expires_at=now, checked_at=now, next_lookup_at=now)
    # Groups, on-call calendars, urgencies, policy groups (issue #13).
    monitor.monitor_group = MonitorGroup.objects.create(team=team, name="Production")
    monitor.save(update_fields=["monitor_group"])
    HeartbeatGroup.objects.create(team=team, name="Nightly")
    Urgency.objects.create(team=team, name="High", call=True)
    PolicyGroup.objects.create(team=team, name="Backend")
    calendar = OnCallCalendar.objects.create(team=team, is_default=True, timezone="Europe/Prague")
    OnCallRotation.objects.create(
        calendar=calendar,
        user_ids=[on_call_user.pk],
        rotation_interval="week",
        start_rotations_at=now - timedelta(days=3),
    )
    OnCallEvent.objects.create(
        calendar=calendar, user_ids=[on_call_user.pk], starts_at=now, ends_at=now + timedelta(hours=2)
    )
    # The admin login throttle's records (django-axes), where operators lift a lockout.
    attempt = {"username": "mallory", "ip_address": "203.0.113.5", "user_agent": "curl", "http_accept": "*/*"}
    AccessAttempt.objects.create(
        **attempt, path_info="/admin/login/", get_data="", post_data="", failures_since_start=3
    )
    AccessFailureLog.objects.create(**attempt, path_info="/admin/login/", locked_out=False)
    # Status pages (issue #12).
    group = StatusPageGroup.objects.create(team=team, name="Customers")
    page = StatusPage.objects.create(team=team, company_name="Eleva", subdomain="eleva", status_page_group=group)
    section = StatusPageSection.objects.create(status_page=page, name="API")
    StatusPageResource.objects.create(
        status_page=page, section=section, resource_type="Monitor", resource_id=monitor.pk
    )
    report = StatusReport.objects.create(status_page=page, title="Slow", starts_at=now)
    StatusUpdate.objects.create(status_report=report, message="Looking", published_at=now)
    Subscriber.objects.create(status_page=page, email="ana@example.com", unsubscribe_token="t", confirmed_at=now)
    Badge.objects.create(monitor=monitor)
    return monitor


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_every_changelist_renders(operator_client, one_of_everything, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = operator_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_every_change_page_renders(operator_client, one_of_everything, model):
    obj = model._default_manager.first()
    assert obj is not None, f"the fixture made no {model._meta.label}"
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    response = operator_client.get(url)
    assert response.status_code == 200


# Shown inside their parent's page rather than on a page of their own.
INLINE_ONLY = {
    "monitors.MonitorRequestHeader",
    "alerts.IncidentEvent",
    "alerts.Escalation",
    "teams.OnCallRotation",
    "teams.OnCallEvent",
    "status.StatusPageSection",
    "status.StatusPageResource",
    "status.StatusUpdate",
}


def test_every_model_of_pharos_is_in_the_admin():
    from django.apps import apps

    ours = {
        m._meta.label
        for app in ("teams", "monitors", "heartbeats", "alerts", "status")
        for m in apps.get_app_config(app).get_models()
    }
    registered = {m._meta.label for m in admin.site._registry}
    assert ours - INLINE_ONLY <= registered


def test_monitor_status_is_shown_coloured(operator_client, one_of_everything):
    response = operator_client.get(reverse("admin:monitors_monitor_changelist"))
    assert b"#cf222e" in response.content  # the "down" badge


def test_pausing_from_the_admin_pauses_the_monitor(operator_client, one_of_everything):
    monitor = one_of_everything
    operator_client.post(
        reverse("admin:monitors_monitor_changelist"), {"action": "pause", "_selected_action": [monitor.pk]}
    )
    monitor.refresh_from_db()
    assert monitor.status == "paused" and monitor.paused_at is not None


def test_resuming_from_the_admin_makes_the_monitor_pending_and_due(operator_client, one_of_everything):
    monitor = one_of_everything
    Monitor.objects.filter(pk=monitor.pk).update(paused_at=timezone.now(), status="paused")
    operator_client.post(
        reverse("admin:monitors_monitor_changelist"), {"action": "resume", "_selected_action": [monitor.pk]}
    )
    monitor.refresh_from_db()
    assert monitor.status == "pending" and monitor.paused_at is None and monitor.next_check_at is not None


def test_acknowledging_from_the_admin_records_who_did_it(operator_client, one_of_everything):
    incident = Incident.objects.get()
    operator_client.post(
        reverse("admin:alerts_incident_changelist"), {"action": "acknowledge", "_selected_action": [incident.pk]}
    )
    incident.refresh_from_db()
    assert incident.status == "Acknowledged" and incident.acknowledged_by == "operator"


def test_resolving_from_the_admin_resolves_and_adds_to_the_timeline(operator_client, one_of_everything):
    incident = Incident.objects.get()
    operator_client.post(
        reverse("admin:alerts_incident_changelist"), {"action": "resolve", "_selected_action": [incident.pk]}
    )
    incident.refresh_from_db()
    assert incident.status == "Resolved" and incident.resolved_at is not None
    assert list(incident.events.values_list("kind", flat=True)) == ["started", "resolved"]


def test_the_admin_refuses_a_policy_that_escalation_cannot_run(operator_client, team):
    response = operator_client.post(
        reverse("admin:alerts_escalationpolicy_add"),
        {"team": team.pk, "name": "Broken", "repeat_count": 0, "repeat_delay": 0, "steps": '[{"step_members": []}]'},
    )
    assert response.status_code == 200
    assert b"step_members must be a non-empty list" in response.content
    assert not EscalationPolicy.objects.filter(name="Broken").exists()


def test_an_operator_can_release_a_quarantined_region(operator_client, one_of_everything):
    row = RegionQuarantine.objects.get()
    operator_client.post(
        reverse("admin:monitors_regionquarantine_changelist"), {"action": "release_now", "_selected_action": [row.pk]}
    )
    row.refresh_from_db()
    assert row.released_at is not None
    assert OperatorEvent.objects.filter(
        kind="region_released", region="as", message__contains="released by operator"
    ).exists()
