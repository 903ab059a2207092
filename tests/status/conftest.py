"""A team's page built from real monitors and a heartbeat, and a cache emptied per test."""

import email
import email.policy
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from alerts.incidents import Alerting, IncidentFacts, open_incident, resolve_incident
from heartbeats.models import Heartbeat
from monitors.models import Monitor
from status.models import StatusPage, StatusPageResource, StatusPageSection, StatusReport
from tests.alerts.conftest import alert_workers, smtp_server  # noqa: F401  (shared fixtures: a real SMTP server, alerts workers)


@pytest.fixture(autouse=True)
def empty_cache(settings):
    settings.PHAROS_BASE_URL = "https://pharos.example.com"
    cache.clear()
    yield
    cache.clear()


def open_outage(monitor, *, at, regions=("us", "eu")):
    return open_incident(
        team_id=monitor.team_id,
        source_type="monitor",
        source_id=monitor.pk,
        facts=IncidentFacts(
            cause="Status 503 from secret-backend.internal",
            url=monitor.url,
            regions=list(regions),
            response_content="<h1>stack trace: DB_PASSWORD=hunter2</h1>",
        ),
        alerting=Alerting(email=False),
        now=at,
    )


@pytest.fixture
def built_page(team):
    """Website (up, an outage yesterday), API (down now), Nightly backup (heartbeat, up)."""
    now = timezone.now()
    long_ago = now - timedelta(days=60)
    website = Monitor.objects.create(
        team=team, url="https://internal-admin.eleva.care/health", pronounceable_name="web-prod-1", status="up"
    )
    api = Monitor.objects.create(
        team=team, url="https://api.eleva.care/health", pronounceable_name="api-1", status="up"
    )
    backup = Heartbeat.objects.create(team=team, name="Nightly backup", period=86400, grace=1800, status="up")
    Monitor.objects.filter(pk__in=[website.pk, api.pk]).update(created_at=long_ago)
    Heartbeat.objects.filter(pk=backup.pk).update(created_at=long_ago)
    page = StatusPage.objects.create(team=team, company_name="Eleva Care", subdomain="eleva", history=30)
    section = StatusPageSection.objects.create(status_page=page, name="Platform")
    resources = {
        "website": StatusPageResource.objects.create(
            status_page=page, section=section, resource_type="Monitor", resource_id=website.pk, public_name="Website"
        ),
        "api": StatusPageResource.objects.create(
            status_page=page, section=section, resource_type="Monitor", resource_id=api.pk, public_name="Public API"
        ),
        "backup": StatusPageResource.objects.create(
            status_page=page, resource_type="Heartbeat", resource_id=backup.pk, public_name="Backups"
        ),
    }
    # Noon of yesterday (UTC, the page's zone): the 45 minutes stay within one day.
    yesterday = now.replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    past = open_outage(website, at=yesterday)
    resolve_incident(past.pk, by="tests", now=yesterday + timedelta(minutes=45))
    return {"page": page, "resources": resources, "website": website, "api": api, "backup": backup, "past": past}


def protect(page, password="correct horse"):
    """Puts ``page`` behind ``password``."""
    page.password_enabled = True
    page.set_password(password)
    page.save()
    return page


def maintenance_on_api(built_page, *, starts_at, ends_at):
    """A "Database upgrade" maintenance report on ``built_page``'s Public API."""
    return StatusReport.objects.create(
        status_page=built_page["page"],
        title="Database upgrade",
        report_type="maintenance",
        starts_at=starts_at,
        ends_at=ends_at,
        affected_resources=[
            {"status_page_resource_id": str(built_page["resources"]["api"].pk), "status": "maintenance"}
        ],
    )


def start_subscriber_mailer(start_workers, settings):
    """One real alerts worker (``start_workers``: the ``alert_workers`` fixture) that mails
    through this test's SMTP server, with page links under https://status.example.com."""
    start_workers(
        1,
        env={
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(settings.EMAIL_PORT),
            "PHAROS_BASE_URL": "https://status.example.com",
        },
    )


def mails_to(mailbox, address):
    """The mails ``mailbox`` (the SMTP server) has received for ``address``, parsed, in order."""
    return [
        email.message_from_bytes(envelope.content, policy=email.policy.default)
        for envelope in list(mailbox.messages)
        if address in envelope.rcpt_tos
    ]
