"""The console in a real browser (headless Chromium, tests/browser.py) against a real
gunicorn: create a heartbeat through the form, send it a failing ping with output over real
HTTP, find the output on its page, and acknowledge the incident it opened from the incident
page. Screenshots at desktop and phone width go to var/screenshots/."""

import subprocess
import sys
import urllib.request

import pytest

from alerts.models import Incident, IncidentStatus
from heartbeats.models import Heartbeat, Ping
from tests.browser import DESKTOP, PHONE, save_screenshot
from tests.heartbeats.conftest import PROJECT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def static_files():
    # gunicorn serves the admin's CSS through WhiteNoise from STATIC_ROOT, as `make run` does.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=PROJECT,
        check=True,
        env={"SECRET_KEY": "x", "PHAROS_IGNORE_DOTENV": "1", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def console(gunicorn, static_files, browser_context, django_user_model, team):
    from teams.models import Membership

    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    Membership.objects.create(team=team, user=admin, on_call=True)
    page = browser_context.new_page()
    page.goto(f"{gunicorn}/admin/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{gunicorn}/admin/")
    return page


def fail_ping(base, token, *, exit_code, output):
    request = urllib.request.Request(f"{base}/api/v1/heartbeat/{token}/{exit_code}", data=output.encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def both_widths(page, name):
    save_screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    save_screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def test_an_operator_creates_a_heartbeat_and_finds_its_failing_ping_with_output(console, gunicorn, team):
    page = console
    page.goto(f"{gunicorn}/admin/heartbeats/heartbeat/add/")
    page.select_option("select[name=team]", str(team.pk))
    page.fill("input[name=name]", "nightly backup")
    shown_url = page.input_value("#pharos-ping-url")
    both_widths(page, "heartbeat-add")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    heartbeat = Heartbeat.objects.get(name="nightly backup")
    assert shown_url.endswith(f"/api/v1/heartbeat/{heartbeat.token}")  # the URL copied from the form works
    fail_ping(gunicorn, heartbeat.token, exit_code=3, output="pg_dump: disk full\nbackup aborted")
    assert Ping.objects.filter(heartbeat=heartbeat, kind="fail", exit_code=3).exists()

    page.reload()
    output = page.locator("pre", has_text="pg_dump: disk full")
    assert output.is_visible()
    assert "backup aborted" in output.inner_text()
    both_widths(page, "heartbeat-page-with-failure")


def test_an_operator_acknowledges_a_heartbeat_failure_from_the_incident_page(console, gunicorn, team):
    page = console
    heartbeat = Heartbeat.objects.create(team=team, name="hourly sync", period=3600, grace=300)
    fail_ping(gunicorn, heartbeat.token, exit_code=1, output="rsync: connection refused")
    incident = Incident.objects.get(source_type="heartbeat", source_id=heartbeat.pk)

    page.goto(f"{gunicorn}/admin/alerts/incident/")
    page.click(f"text=#{incident.pk} hourly sync")
    page.wait_for_url(f"{gunicorn}/admin/alerts/incident/{incident.pk}/change/")
    assert page.locator("pre", has_text="rsync: connection refused").is_visible()
    both_widths(page, "incident-page")
    page.click("button:has-text('Acknowledge')")
    page.wait_for_selector(".messagelist .success")

    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "admin")
    assert page.locator("button:has-text('Acknowledge')").count() == 0
    both_widths(page, "incident-acknowledged")
