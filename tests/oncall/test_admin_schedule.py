"""The admin shows this week's on-call schedule of a calendar, and lists groups and roles."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from teams.models import Membership, OnCallCalendar, OnCallEvent, OnCallRotation
from tests.browser import save_screenshot

PRAGUE = ZoneInfo("Europe/Prague")


@pytest.fixture
def week(team, django_user_model):
    """A Prague calendar: ana and bo rotate daily at 09:00; carol covers tomorrow 12:00–18:00."""
    people = {}
    for name, first in (("ana", "Ana"), ("bo", "Bo"), ("carol", "Carol")):
        people[name] = django_user_model.objects.create_user(name, email=f"{name}@example.com", first_name=first)
        Membership.objects.create(team=team, user=people[name])
    calendar = OnCallCalendar.objects.create(team=team, is_default=True, timezone="Europe/Prague")
    today = timezone.now().astimezone(PRAGUE).date()
    OnCallRotation.objects.create(
        calendar=calendar,
        user_ids=[people["ana"].pk, people["bo"].pk],
        rotation_interval="day",
        start_rotations_at=datetime.combine(today - timedelta(days=7), time(9)).replace(tzinfo=PRAGUE),
    )
    tomorrow = today + timedelta(days=1)
    OnCallEvent.objects.create(
        calendar=calendar,
        user_ids=[people["carol"].pk],
        starts_at=datetime.combine(tomorrow, time(12)).replace(tzinfo=PRAGUE),
        ends_at=datetime.combine(tomorrow, time(18)).replace(tzinfo=PRAGUE),
    )
    return calendar, tomorrow


@pytest.mark.django_db
def test_the_calendar_page_shows_this_weeks_schedule_with_the_override(admin_client, week):
    calendar, tomorrow = week

    page = admin_client.get(f"/admin/teams/oncallcalendar/{calendar.pk}/change/").content.decode()

    assert "this week" in page.lower() and "on-call-week" in page
    assert f"{tomorrow:%a %d %b} 12:00" in page and f"{tomorrow:%a %d %b} 18:00" in page
    assert page.count("override") >= 1 and "Carol" in page and "Ana" in page and "Bo" in page
    assert calendar.feed_url in page


@pytest.mark.django_db(transaction=True)
def test_the_calendar_page_renders_in_a_browser(browser_context, live_server, week, django_user_model):
    calendar, _ = week
    django_user_model.objects.create_superuser("operator", "op@example.com", "correct horse battery")
    page = browser_context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/teams/oncallcalendar/{calendar.pk}/change/")
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", "correct horse battery")
    page.click("input[type=submit]")

    table = page.locator("table.on-call-week")
    table.wait_for(state="visible")
    assert table.locator("tbody tr").count() >= 7
    save_screenshot(page, "admin-on-call-calendar")
