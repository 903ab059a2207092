"""The acknowledge page in a real browser: opening it acknowledges nothing, a click does.

Mail scanners that render links in a headless browser run the page's scripts; the page
used to submit its own form with JavaScript, so such a scanner acknowledged incidents
(issue 11, finding 7).
"""

import pytest

from alerts.messages import acknowledge_url
from alerts.models import Incident, IncidentStatus
from tests.browser import PHONE, save_screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ack_path(open_down, member, settings, live_server):
    settings.PHAROS_BASE_URL = live_server.url
    member("ana", on_call=True)
    incident = open_down()
    return incident, acknowledge_url(incident.pk, "ana@example.com").removeprefix(live_server.url)


def test_opening_the_link_in_a_browser_that_runs_scripts_acknowledges_nothing(browser_context, live_server, ack_path):
    incident, path = ack_path
    page = browser_context.new_page()

    page.goto(live_server.url + path)
    page.wait_for_load_state("networkidle")

    assert page.get_by_role("button", name=f"Acknowledge incident #{incident.pk}").is_visible()
    assert Incident.objects.get(pk=incident.pk).acknowledged_at is None
    page.set_viewport_size(PHONE)
    save_screenshot(page, "acknowledge-page-phone")


def test_clicking_the_button_acknowledges_the_incident(browser_context, live_server, ack_path):
    incident, path = ack_path
    page = browser_context.new_page()
    page.goto(live_server.url + path)

    page.get_by_role("button", name=f"Acknowledge incident #{incident.pk}").click()
    page.wait_for_load_state("networkidle")

    assert page.get_by_role("heading", name="Acknowledged").is_visible()
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "ana@example.com")
    save_screenshot(page, "acknowledge-page-done")


def test_the_page_forbids_scripts_in_its_content_security_policy(client, ack_path):
    _, path = ack_path

    response = client.get(path)

    assert b"<script" not in response.content
    assert "default-src 'none'" in response["Content-Security-Policy"]
