"""Heartbeats as tests need them: made through the ORM, pinged through the real URL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from heartbeats.models import Heartbeat


@pytest.fixture
def make_heartbeat(team):
    def make(**fields):
        fields.setdefault("name", "nightly backup")
        fields.setdefault("period", 60)
        fields.setdefault("grace", 30)
        return Heartbeat.objects.create(team=team, **fields)

    return make


@pytest.fixture
def heartbeat(make_heartbeat):
    return make_heartbeat()


@pytest.fixture
def up_heartbeat(make_heartbeat):
    """A heartbeat whose last success came just now."""
    now = timezone.now()
    return make_heartbeat(status="up", last_ping_at=now, alert_after=now + timedelta(seconds=90))


def ping_path(heartbeat, suffix=""):
    return f"/api/v1/heartbeat/{heartbeat.token}{suffix}"
