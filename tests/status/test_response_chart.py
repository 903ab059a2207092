"""Response-time charts for ``response_times`` widgets: the average per hour over the last
24 hours, from the hourly rollups and (for hours not rolled up yet) the raw results, drawn
as inline SVG on the public page and listed in index.json; a heartbeat shows its history."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from heartbeats.models import Heartbeat
from monitors.models import CheckResult, Monitor, MonitorGroup, ResultRollup
from status.models import StatusPage, StatusPageResource
from tests.browser import PHONE, save_screenshot

HOUR = timedelta(hours=1)


def this_hour():
    return timezone.now().replace(minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def clear_of_the_hour_boundary():
    """The expected points are counted back from the current hour; a test that straddled a
    full hour would see every point shift by one. Start in the next hour instead (waits at
    most two minutes, and only in the last two minutes of an hour)."""
    left = (this_hour() + HOUR - timezone.now()).total_seconds()
    if left < 120:
        time.sleep(left + 1)


def rollup(monitor, hour, mean, checks=10, region="us"):
    ResultRollup.objects.create(
        monitor=monitor, region=region, hour=hour, checks=checks, failures=0, mean_response_time=mean
    )


def result(monitor, at, seconds, region="us"):
    CheckResult.objects.create(
        monitor=monitor, scheduled_at=at, region=region, outcome="up", response_time=seconds, checked_at=at
    )


def charted_resource(page, resource_type, source, public_name):
    return StatusPageResource.objects.create(
        status_page=page,
        resource_type=resource_type,
        resource_id=source.pk,
        public_name=public_name,
        widget_type="response_times",
    )


@pytest.fixture
def charted(team):
    """API: rolled-up hours 23 h ago to 2 h ago except 10 h ago; the last hour and this one raw."""
    api = Monitor.objects.create(team=team, url="https://api.internal.example.com/health", status="up")
    now_hour = this_hour()
    for back in range(2, 24):
        if back != 10:
            rollup(api, now_hour - back * HOUR, mean=0.100 + back / 1000)
    result(api, now_hour - HOUR + timedelta(minutes=5), 0.200)
    result(api, now_hour - HOUR + timedelta(minutes=35), 0.300)
    result(api, min(now_hour + timedelta(seconds=1), timezone.now()), 0.150)
    backup = Heartbeat.objects.create(team=team, name="Nightly backup", period=86400, grace=1800, status="up")
    page = StatusPage.objects.create(team=team, company_name="Eleva Care", subdomain="eleva", history=7)
    resources = {
        "api": charted_resource(page, "Monitor", api, "Public API"),
        "backup": charted_resource(page, "Heartbeat", backup, "Backups"),
    }
    return {"page": page, "api": api, "resources": resources, "hour": now_hour}


@pytest.mark.django_db
def test_index_json_lists_24_hourly_averages_from_rollups_and_raw_results(client, charted):
    document = client.get("/status/eleva/index.json").json()
    attributes = {
        item["attributes"]["public_name"]: item["attributes"]
        for item in document["included"]
        if item["type"] == "status_page_resource"
    }

    points = attributes["Public API"]["response_times"]
    assert len(points) == 24
    by_back = {23 - index: point["response_time"] for index, point in enumerate(points)}
    assert by_back[23] == pytest.approx(0.123)
    assert by_back[10] is None  # nothing measured that hour: a gap, not a zero
    assert by_back[2] == pytest.approx(0.102)
    assert by_back[1] == pytest.approx(0.250)  # not rolled up yet: the raw results' mean
    assert by_back[0] == pytest.approx(0.150)
    assert "response_times" not in attributes["Backups"]  # a heartbeat has no response time


@pytest.mark.django_db
def test_the_page_draws_a_point_per_measured_hour_and_a_heartbeat_keeps_its_history(client, charted):
    html = client.get("/status/eleva/").content.decode()
    api_block, backup_block = (
        html[html.index(f'data-resource="{charted["resources"][name].pk}"') :] for name in ("api", "backup")
    )
    api_block = api_block[: api_block.index("</figure>")]

    assert api_block.count('class="response-point"') == 23
    assert api_block.count('class="response-line"') == 2  # broken at the unmeasured hour
    label = re.search(r'<svg[^>]*aria-label="([^"]+)"', api_block).group(1)
    assert label.endswith("minimum 102 ms, average 120 ms, maximum 250 ms")
    assert "response-chart" not in backup_block  # the page's last resource: nothing after it either
    assert 'class="bar' in backup_block


@pytest.mark.django_db
def test_a_monitor_groups_chart_weighs_its_monitors_by_their_checks(client, team):
    group = MonitorGroup.objects.create(team=team, name="Edge")
    busy = Monitor.objects.create(team=team, url="https://a.example.com", status="up", monitor_group=group)
    quiet = Monitor.objects.create(team=team, url="https://b.example.com", status="up", monitor_group=group)
    hour = this_hour() - 3 * HOUR
    rollup(busy, hour, mean=0.100, checks=30)
    rollup(quiet, hour, mean=0.500, checks=10)
    page = StatusPage.objects.create(team=team, company_name="Edge", subdomain="edge", history=7)
    StatusPageResource.objects.create(
        status_page=page,
        resource_type="MonitorGroup",
        resource_id=group.pk,
        public_name="Edge",
        widget_type="response_times",
    )

    document = client.get("/status/edge/index.json").json()

    [resource] = [item for item in document["included"] if item["type"] == "status_page_resource"]
    measured = [point["response_time"] for point in resource["attributes"]["response_times"] if point["response_time"]]
    assert measured == [pytest.approx(0.200)]


@pytest.mark.django_db(transaction=True)
def test_the_chart_in_a_browser_on_a_375_px_phone_in_the_dark_theme(chromium, live_server, charted):
    StatusPage.objects.filter(pk=charted["page"].pk).update(theme="dark")
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/status/eleva/")

    figure = page.locator(".response-chart")
    assert figure.count() == 1  # the heartbeat's widget shows history only
    assert figure.get_attribute("data-points") == "23"
    assert figure.locator("circle.response-point").count() == 23
    svg = figure.locator("svg")
    assert "minimum 102 ms, average 120 ms, maximum 250 ms" in svg.get_attribute("aria-label")
    box = svg.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] > 20
    card = page.locator(".card.section").bounding_box()
    legend = figure.locator("figcaption").bounding_box()
    assert legend is not None and legend["x"] + legend["width"] <= card["x"] + card["width"]
    stroke = page.evaluate("getComputedStyle(document.querySelector('.response-line')).stroke")
    assert stroke == "rgb(59, 130, 246)"  # the theme's colour, not a hard-coded one
    save_screenshot(page, "status-page-response-chart-phone-dark")
    context.close()
