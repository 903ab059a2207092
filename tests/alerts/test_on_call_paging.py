"""End to end: a rotation of two members decides who an incident wakes, and an override
event in the middle changes it. Incidents are opened through the API, the outbox is
delivered by a real Celery worker on the ``alerts`` queue, and the mail arrives at the
test's real SMTP server.
"""

import json
from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Notification, NotificationStatus
from teams.models import ApiToken
from tests.alerts.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Api:
    def __init__(self, token):
        self.client, self.headers = Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def post(self, path, body):
        response = self.client.post(path, json.dumps(body), content_type="application/json", **self.headers)
        assert response.status_code in (200, 201), response.content
        return response.json()

    def delete(self, path):
        assert self.client.delete(path, **self.headers).status_code == 204


def recipients(mailbox):
    return sorted(rcpt for envelope in mailbox.messages for rcpt in envelope.rcpt_tos)


def test_the_member_on_call_by_the_rotation_is_paged_and_an_override_pages_its_member_instead(
    team, member, smtp_server, alert_workers, settings
):
    member("ana")
    member("bo")
    member("carol")
    member("boss").memberships.update(role="admin")  # the fallback, who must not hear
    api = Api(ApiToken.issue(team, name="e2e")[1])
    alert_workers(1, env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(settings.EMAIL_PORT)})
    now = timezone.now()
    # Daily shifts that began a day and a half ago: ana had the first, bo has this one.
    api.post(
        "/api/v2/on-calls/default/rotation",
        {
            "users": ["ana@example.com", "bo@example.com"],
            "rotation_length": 1,
            "rotation_interval": "day",
            "start_rotations_at": iso(now - timedelta(days=1, hours=12)),
        },
    )

    first = api.post("/api/v3/incidents", {"summary": "Checkout failing", "requester_email": "ops@example.com"})
    assert wait_until(lambda: len(smtp_server.messages) >= 1, timeout=60)
    assert recipients(smtp_server) == ["bo@example.com"]
    assert b"Checkout failing" in smtp_server.messages[0].content

    # An override for carol covering this moment: the next incident pages her, not bo.
    event = api.post(
        "/api/v2/on-calls/default/events",
        {
            "users": ["carol@example.com"],
            "starts_at": iso(now - timedelta(minutes=5)),
            "ends_at": iso(now + timedelta(hours=1)),
        },
    )
    second = api.post("/api/v3/incidents", {"summary": "Search down", "requester_email": "ops@example.com"})
    assert wait_until(lambda: len(smtp_server.messages) >= 2, timeout=60)
    assert recipients(smtp_server) == ["bo@example.com", "carol@example.com"]

    # Without the override, bo is on call again.
    api.delete(f"/api/v2/on-calls/default/events/{event['id']}")
    api.post("/api/v3/incidents", {"summary": "Login slow", "requester_email": "ops@example.com"})
    assert wait_until(lambda: len(smtp_server.messages) >= 3, timeout=60)
    assert recipients(smtp_server) == ["bo@example.com", "bo@example.com", "carol@example.com"]

    delivered = Notification.objects.filter(status=NotificationStatus.DELIVERED)
    assert wait_until(lambda: delivered.count() == 3, timeout=10)
    assert {n.incident_id for n in delivered} >= {int(first["data"]["id"]), int(second["data"]["id"])}
