"""The monitor list: status and for how long, last response in ms, a 24 h sparkline, 24 h
/ 30 d availability, a dot per region — for a page of monitors in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Incident
from monitors.models import CheckResult, Monitor, MonitorGroup

pytestmark = pytest.mark.django_db

LIST = reverse("admin:monitors_monitor_changelist")


def results(monitor, *, at, outcomes, response_time=0.001536):
    for region, outcome in outcomes.items():
        CheckResult.objects.create(
            monitor=monitor,
            scheduled_at=at,
            region=region,
            outcome=outcome,
            status_code=200 if outcome == "up" else 503,
            response_time=response_time,
            checked_at=at,
        )


def row_of(page, monitor):
    body = page.content.decode()
    start = body.index(f"/admin/monitors/monitor/{monitor.pk}/change/")
    return body[start : body.index("</tr>", start)]


def test_a_row_shows_status_duration_milliseconds_sparkline_availability_and_region_dots(
    operator_client, team, settings
):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    now = timezone.now()
    monitor = Monitor.objects.create(
        team=team,
        url="https://shop.example.com",
        status="down",
        failing_since=now - timedelta(hours=2, minutes=3),
        created_at=now,
    )
    Monitor.objects.filter(pk=monitor.pk).update(created_at=now - timedelta(days=40))
    for hours_ago in (3, 2):
        results(monitor, at=now - timedelta(hours=hours_ago), outcomes={"us": "up", "eu": "up", "as": "up"})
    last_round = now - timedelta(minutes=1)
    results(monitor, at=last_round, outcomes={"us": "down", "eu": "down"}, response_time=0.2504)
    Monitor.objects.filter(pk=monitor.pk).update(verdict_round_at=last_round)
    # Down for the last 2 h 24 min of the day: 90 % over 24 h, 99.67 % over 30 d.
    Incident.objects.create(
        team=team,
        source_type="monitor",
        source_id=monitor.pk,
        cause="Status 503",
        started_at=now - timedelta(hours=2.4),
    )

    row = row_of(operator_client.get(LIST), monitor)

    assert "down" in row and "for 2\xa0hours, 3\xa0minutes" in row
    assert "250.4 ms" in row  # not 0.2504 (seconds)
    assert row.count("<polyline") == 1  # the sparkline's line through the hours with results
    assert "90.00 %" in row and "99.67 %" in row
    assert "us: down (503), 250 ms" in row and "eu: down (503), 250 ms" in row
    assert "as: no answer in the last round" in row


def test_groups_have_a_column_and_a_filter(operator_client, team):
    group = MonitorGroup.objects.create(team=team, name="Production")
    Monitor.objects.create(team=team, url="https://a.example.com", monitor_group=group)
    Monitor.objects.create(team=team, url="https://b.example.com")

    page = operator_client.get(LIST, {"monitor_group__id__exact": group.pk})

    assert page.context["cl"].result_count == 1
    assert "Production" in row_of(page, Monitor.objects.get(url="https://a.example.com"))


def a_fleet(team, count, *, now):
    """Monitors with a result from each region in the last round and an incident each third."""
    first = Monitor.objects.count()
    Monitor.objects.bulk_create(
        Monitor(team=team, url=f"https://m{first + n}.example.com", status="up", verdict_round_at=now)
        for n in range(count)
    )
    fleet = list(Monitor.objects.order_by("-pk")[:count])
    CheckResult.objects.bulk_create(
        CheckResult(
            monitor=monitor,
            scheduled_at=now - timedelta(minutes=minutes),
            region=region,
            outcome="up",
            response_time=0.05,
            checked_at=now,
        )
        for monitor in fleet
        for region in ("us", "eu", "as")
        for minutes in (0, 90)
    )
    Incident.objects.bulk_create(
        Incident(team=team, source_type="monitor", source_id=monitor.pk, started_at=now - timedelta(hours=1))
        for monitor in fleet[::3]
    )


def test_the_list_costs_the_same_queries_at_ten_and_a_thousand_monitors(
    operator_client, team, django_assert_max_num_queries, django_assert_num_queries
):
    now = timezone.now()
    a_fleet(team, 10, now=now)
    with django_assert_max_num_queries(12) as few:
        operator_client.get(LIST)
    a_fleet(team, 990, now=now)
    with django_assert_num_queries(len(few.captured_queries)):
        page = operator_client.get(LIST)
    assert page.context["cl"].result_count == 1000
    assert len(page.context["cl"].result_list) == 100
    assert all(len(row.console_figures.last_by_region) == 3 for row in page.context["cl"].result_list)
