"""The console in a real browser against a real Pharos: an operator logs in, creates a
monitor through the form's widgets (region checkboxes, a list of status codes, weekday
checkboxes, a time window), and watches its status and chart fill in from real checks of
an HTTP target on 127.0.0.1. Every step leaves a screenshot (desktop and 375 px) under
var/screenshots/; the README's tour uses some of them.
"""

import re

import pytest

from tests.browser import DESKTOP, PHONE, save_screenshot
from tests.ops.servers import wait_for

pytestmark = pytest.mark.slow

STARTUP = 120  # seconds for migrate + the processes on a busy two-core machine
PASSWORD = "correct horse battery staple"

SEED = """
from django.contrib.auth import get_user_model
from teams.models import Membership, Team
operator = get_user_model().objects.create_superuser("operator", "op@example.com", "{password}")
team = Team.objects.create(name="Shop")
Membership.objects.create(team=team, user=operator)
"""


def both_widths(page, name):
    page.set_viewport_size(DESKTOP)
    save_screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    save_screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_an_operator_creates_a_monitor_with_the_widgets_and_sees_it_come_up(pharos, loopback_site, chromium):
    pharos.manage("migrate", "--noinput")
    pharos.manage("shell", "-c", SEED.format(password=PASSWORD))
    pharos.start()
    wait_for(lambda: pharos.health() is not None, timeout=STARTUP, what=f"the web process\n{pharos.log_tail()}")
    site = f"http://127.0.0.1:{pharos.port}"
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()

    page.goto(f"{site}/admin/login/")
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#console-overview")
    both_widths(page, "console-overview-empty")

    page.goto(f"{site}/admin/monitors/monitor/add/")
    page.select_option("select[name=team]", label="Shop")
    page.fill("input[name=pronounceable_name]", "Shop front")
    page.select_option("select[name=monitor_type]", "expected_status_code")
    page.fill("input[name=url]", loopback_site.target_url)
    page.fill("input[name=check_frequency]", "5")
    page.check("input[name=regions][value=us]")
    page.check("input[name=regions][value=eu]")
    page.fill("input[name=expected_status_codes]", "200, 204")
    page.check("input[name=maintenance_days][value=wed]")
    page.fill("input[name=maintenance_from]", "03:00:00")
    page.fill("input[name=maintenance_to]", "03:10:00")
    save_screenshot(page, "console-monitor-form-desktop")
    page.click("input[name=_continue]")
    page.wait_for_selector("#console-monitor")
    monitor_id = int(re.search(r"/monitor/(\d+)/change/", page.url).group(1))
    stored = pharos.db.rows(
        "SELECT regions, expected_status_codes, maintenance_days FROM monitors_monitor WHERE id = %s", monitor_id
    )
    assert stored == [(["us", "eu"], [200, 204], ["wed"])]

    wait_for(
        lambda: pharos.db.monitor_status(monitor_id) == "up",
        timeout=STARTUP,
        what=f"the monitor up from real checks\n{pharos.log_tail()}",
    )
    page.reload()
    status = page.locator("#console-monitor p").first.inner_text()
    assert status.startswith("up")
    day_chart = page.locator("#console-response-times .console-chart").first
    assert day_chart.locator("polyline, circle").count() >= 2  # a point or line per region
    assert page.locator("#console-rounds tbody tr").count() >= 1
    assert "ms" in page.locator("#console-rounds tbody tr").first.inner_text()
    both_widths(page, "console-monitor")

    page.goto(f"{site}/admin/monitors/monitor/")
    row = page.locator("#result_list tbody tr").first
    assert "Shop front" in row.inner_text() and " ms" in row.inner_text()
    assert row.locator(".console-dots svg").count() == 2
    both_widths(page, "console-monitor-list")

    page.goto(f"{site}/admin/")
    assert page.locator("#console-overview .console-status-up .console-count").first.inner_text() == "1"
    both_widths(page, "console-overview")
    context.close()
