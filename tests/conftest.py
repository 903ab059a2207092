"""Fixtures shared by the whole suite.

The suite runs against real PostgreSQL and Redis (see the Makefile's `test` target).
Several runs may share one machine: each picks its own database through
PHAROS_TEST_DB_NAME and its own Redis database number in REDIS_URL.
"""

import os

import pytest
import redis as redis_lib

from teams.models import ApiToken, Membership, Team
from tests.backends import ON_SQLITE
from tests.browser import browser_context, chromium  # noqa: F401  (shared fixtures)


@pytest.fixture
def operator_client(client, django_user_model):
    """The test client, logged in to the admin as a superuser."""
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "correct horse battery")
    client.force_login(operator)
    return client


@pytest.fixture
def write_after_the_admin_reads(monkeypatch):
    """``write(admin_class, model, **columns)``: once the admin's change view has read the
    row and validated the form, just before it saves, UPDATE ``columns`` on the row, as a
    round or a ping committing at that moment would (a lost update's window)."""

    def write(admin_class, model, **columns):
        validated = admin_class.save_form

        def save_form_then_write(self, request, form, change):
            source = validated(self, request, form, change)
            model.objects.filter(pk=source.pk).update(**columns)
            return source

        monkeypatch.setattr(admin_class, "save_form", save_form_then_write)

    return write


@pytest.fixture
def team(db):
    return Team.objects.create(name="Eleva Care")


@pytest.fixture
def other_team(db):
    return Team.objects.create(name="Someone Else")


@pytest.fixture
def api_token(team):
    """The raw bearer token of a token belonging to ``team``."""
    _, raw = ApiToken.issue(team, name="tests")
    return raw


@pytest.fixture
def on_call_user(team, django_user_model):
    user = django_user_model.objects.create_user("oncall", email="oncall@example.com", password="x" * 12)
    Membership.objects.create(team=team, user=user, on_call=True, phone_number="+15550100")
    return user


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url and ON_SQLITE:
        # `make test-sqlite` runs the quick start's configuration: SQLite and the on-disk broker.
        pytest.skip("needs Redis; the SQLite pass runs with the on-disk broker")
    if not url:
        pytest.fail("REDIS_URL must be set: the suite talks to a real Redis (make test sets it)")
    return url


@pytest.fixture
def clean_redis(redis_url):
    """A real Redis connection to the suite's own database number, emptied before use."""
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
