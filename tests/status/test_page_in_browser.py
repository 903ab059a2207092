"""The public page in headless Chromium: built from real monitors and a heartbeat, read as a
customer would — without JavaScript, on a phone — and a protected page asking first."""

import pytest
from django.utils import timezone

from tests.browser import DESKTOP, PHONE, save_screenshot
from tests.status.conftest import open_outage, protect

pytestmark = pytest.mark.django_db(transaction=True)


def _statuses(page):
    return {
        row.locator("strong").inner_text(): row.get_attribute("data-status") for row in page.locator(".resource").all()
    }


def test_statuses_bars_and_the_open_incident_match_the_data_without_javascript(chromium, live_server, built_page):
    open_outage(built_page["api"], at=timezone.now())  # committed: the page cache hears of it
    context = chromium.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/status/eleva/")

    assert page.locator("#aggregate-state").inner_text() == "Some services are down"
    assert _statuses(page) == {"Website": "operational", "Public API": "downtime", "Backups": "operational"}
    website_bars = page.locator('.resource[data-status="operational"]').first.locator(".bar")
    assert website_bars.count() == 30
    red_days = [bar.get_attribute("title") for bar in page.locator(".bar.downtime").all()]
    yesterday = built_page["past"].started_at.date().isoformat()
    assert f"{yesterday}: Downtime, 45 min downtime, 0 min maintenance" in red_days
    ongoing = page.locator("#ongoing")
    assert ongoing.get_by_text("Public API went down").is_visible()
    assert "secret-backend" not in page.content()
    save_screenshot(page, "status-page-desktop-no-js")
    context.close()


def test_the_page_is_readable_on_a_375_px_phone(chromium, live_server, built_page):
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/status/eleva/")

    box = page.locator(".bars").first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.get_by_text("Public API").is_visible()
    save_screenshot(page, "status-page-phone")
    context.close()


def test_a_dark_page_in_the_browser(chromium, live_server, built_page):
    built_page["page"].theme = "dark"
    built_page["page"].save()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()

    page.goto(f"{live_server.url}/status/eleva/")

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 22, 29)"
    save_screenshot(page, "status-page-dark-phone")
    context.close()


def test_a_password_protected_page_asks_for_its_password(chromium, live_server, built_page):
    protect(built_page["page"])
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()

    page.goto(f"{live_server.url}/status/eleva/")
    assert page.get_by_label("Password").is_visible()
    assert page.locator(".resource").count() == 0
    save_screenshot(page, "status-page-password")

    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="View status").click()

    assert page.locator(".resource").count() == 3
    context.close()
