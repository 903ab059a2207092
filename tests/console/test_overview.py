"""The admin index is the operator's overview: counts, open incidents with buttons, and
the region and pipeline health of /api/healthcheck?services=true."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from alerts.incidents import Alerting, IncidentFacts, open_incident
from alerts.models import Incident, IncidentEvent
from config.health import services_report
from heartbeats.models import Heartbeat
from monitors.models import Monitor, RegionQuarantine

pytestmark = pytest.mark.django_db


def an_incident(team, monitor, *, minutes_ago=5):
    return open_incident(
        team_id=team.pk,
        source_type="monitor",
        source_id=monitor.pk,
        facts=IncidentFacts(cause="Status 503", name="Checkout API", url=monitor.url),
        alerting=Alerting(),
        now=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_the_admin_index_counts_monitors_and_heartbeats_by_status(operator_client, team):
    for status in ["up", "up", "down", "validating", "paused", "maintenance"]:
        Monitor.objects.create(team=team, url=f"https://{status}.example.com", status=status)
    Heartbeat.objects.create(team=team, name="backup", status="down")

    page = operator_client.get(reverse("admin:index"))

    assert page.status_code == 200
    counts = page.context["monitor_counts"]
    assert counts == {"pending": 0, "up": 2, "down": 1, "validating": 1, "paused": 1, "maintenance": 1}
    assert page.context["heartbeat_counts"]["down"] == 1
    body = page.content.decode()
    assert "Validating" in body and "recovery period" in body
    # The app list of every registered model is still there, under the overview.
    assert reverse("admin:monitors_monitor_changelist") in body
    assert reverse("admin:teams_team_changelist") in body


def test_open_incidents_are_listed_with_their_age_and_buttons(operator_client, team):
    monitor = Monitor.objects.create(team=team, url="https://shop.example.com", status="down")
    incident = an_incident(team, monitor, minutes_ago=90)

    page = operator_client.get(reverse("admin:index"))

    body = page.content.decode()
    assert "Checkout API" in body
    assert "1\xa0hour, 30\xa0minutes" in body
    assert reverse("console-incident-acknowledge", args=[incident.pk]) in body
    assert reverse("console-incident-resolve", args=[incident.pk]) in body


def test_the_overview_says_how_many_open_incidents_reached_nobody(operator_client, team):
    monitor = Monitor.objects.create(team=team, url="https://shop.example.com", status="down")
    paged = an_incident(team, monitor)
    other = Monitor.objects.create(team=team, url="https://api.example.com", status="down")
    unheard = an_incident(team, other)
    # Set by hand: which of them escalation could reach is not this test's subject.
    Incident.objects.filter(pk=paged.pk).update(reached_nobody=False)
    Incident.objects.filter(pk=unheard.pk).update(reached_nobody=True)

    page = operator_client.get(reverse("admin:index"))

    assert page.context["reached_nobody"] == 1
    body = page.content.decode()
    assert "1 open incident reached nobody" in body
    assert body.count('<strong class="console-warning">reached nobody</strong>') == 1


def test_acknowledge_and_resolve_go_through_the_incident_service(operator_client, team):
    monitor = Monitor.objects.create(team=team, url="https://shop.example.com", status="down")
    incident = an_incident(team, monitor)

    answer = operator_client.post(reverse("console-incident-acknowledge", args=[incident.pk]))
    assert answer.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "Acknowledged"
    assert incident.acknowledged_by == "operator (admin)"
    assert IncidentEvent.objects.filter(incident=incident, kind="acknowledged").count() == 1

    # A second click lost the race: nothing changes, the operator is told.
    again = operator_client.post(reverse("console-incident-acknowledge", args=[incident.pk]), follow=True)
    assert "already acknowledged" in again.content.decode()
    assert IncidentEvent.objects.filter(incident=incident, kind="acknowledged").count() == 1

    operator_client.post(reverse("console-incident-resolve", args=[incident.pk]))
    incident.refresh_from_db()
    assert incident.resolved_at is not None and incident.resolved_by == "operator (admin)"
    assert (
        reverse("console-incident-resolve", args=[incident.pk]) not in operator_client.get("/admin/").content.decode()
    )


def test_the_buttons_refuse_a_get_and_a_missing_incident(operator_client):
    assert operator_client.get(reverse("console-incident-resolve", args=[1])).status_code == 405
    assert operator_client.post(reverse("console-incident-resolve", args=[999])).status_code == 404


def test_the_buttons_need_a_logged_in_staff_member(client, team):
    monitor = Monitor.objects.create(team=team, url="https://shop.example.com", status="down")
    incident = an_incident(team, monitor)

    answer = client.post(reverse("console-incident-resolve", args=[incident.pk]))

    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]
    assert Incident.objects.get(pk=incident.pk).resolved_at is None


def test_regions_and_pipeline_show_the_healthcheck_figures(operator_client, team, settings, clean_redis):
    settings.PHAROS_REGIONS = ["us", "eu"]
    RegionQuarantine.objects.create(region="eu", reason="canary", started_at=timezone.now())

    page = operator_client.get(reverse("admin:index"))

    report = services_report(now=timezone.now())
    regions = {region.name: region for region in page.context["regions"]}
    assert set(regions) == {"us", "eu"}
    for name, region in regions.items():
        assert region.ok == report["checks"]["regions"][name]["ok"]
        assert region.detail == report["checks"]["regions"][name]["detail"]
    assert regions["eu"].quarantined_since is not None and regions["us"].quarantined_since is None
    pipeline = dict(page.context["pipeline"])
    assert set(pipeline) == {"aggregator", "scheduler", "sweep", "delivery", "rounds"}
    assert pipeline["delivery"]["detail"] == report["checks"]["delivery"]["detail"]


def test_view_site_does_not_lead_to_a_404(operator_client):
    assert admin.site.site_url is None
    assert "View site" not in operator_client.get(reverse("admin:index")).content.decode()


def many_monitors(team, count):
    Monitor.objects.bulk_create(
        Monitor(team=team, url=f"https://m{n}.example.com", status=["up", "down", "paused"][n % 3])
        for n in range(count)
    )
    Heartbeat.objects.bulk_create(Heartbeat(team=team, name=f"job {n}", status="up") for n in range(count // 10))


def test_the_overview_costs_the_same_queries_at_ten_and_a_thousand_monitors(
    operator_client, team, django_assert_max_num_queries, django_assert_num_queries, clean_redis
):
    many_monitors(team, 10)
    with django_assert_max_num_queries(20) as few:
        operator_client.get(reverse("admin:index"))
    many_monitors(team, 990)
    for monitor in Monitor.objects.filter(status="down")[:30]:
        an_incident(team, monitor)
    with django_assert_num_queries(len(few.captured_queries)):
        page = operator_client.get(reverse("admin:index"))
    assert page.context["monitor_counts"]["down"] == 333
    assert len(page.context["open_incidents"]) == 30
