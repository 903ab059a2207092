"""Clients for the REST API: a team's token, and a second team's for isolation tests."""

import json

import pytest
from django.test import Client

from teams.models import ApiToken


class ApiClient:
    """A Django test client that speaks the API's JSON with a bearer token."""

    def __init__(self, token):
        self.client = Client()
        self.token = token

    def _headers(self, extra):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra)
        return headers

    def get(self, path, params=None, **extra):
        return self.client.get(path, params or {}, **self._headers(extra))

    def delete(self, path, **extra):
        return self.client.delete(path, **self._headers(extra))

    def post(self, path, body=None, *, content_type="application/json", **extra):
        data = json.dumps(body) if body is not None else ""
        return self.client.post(path, data, content_type=content_type, **self._headers(extra))

    def put(self, path, body=None, *, content_type="application/json", **extra):
        return self.client.put(path, json.dumps(body or {}), content_type=content_type, **self._headers(extra))

    def patch(self, path, body=None, *, content_type="application/json", **extra):
        return self.client.patch(path, json.dumps(body or {}), content_type=content_type, **self._headers(extra))


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    """Most tests make many requests; the rate-limit tests set their own limit."""
    settings.PHAROS_API_RATE_LIMIT = 0
    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    settings.PHAROS_MIN_CHECK_FREQUENCY = 10
    settings.PHAROS_BASE_URL = "https://pharos.example.com"
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def api(api_token):
    return ApiClient(api_token)


@pytest.fixture
def other_api(other_team):
    _, raw = ApiToken.issue(other_team, name="other")
    return ApiClient(raw)


QUICK_HEALTH = {
    "url": "https://eleva.care/api/healthcheck",
    "pronounceable_name": "Eleva Care - Quick Health",
    "monitor_type": "status",
    "check_frequency": 30,
    "request_timeout": 5,
    "regions": ["us", "eu", "as"],
    "call": True,
    "sms": True,
    "email": True,
    "recovery_period": 60,
    "confirmation_period": 30,
}

DEEP_HEALTH = {
    "url": "https://eleva.care/api/healthcheck/deep",
    "pronounceable_name": "Eleva Care - Deep Health",
    "monitor_type": "status",
    "check_frequency": 300,
    "request_timeout": 30,
    "regions": ["us", "eu", "as"],
    "call": True,
    "sms": True,
    "email": True,
    "recovery_period": 300,
    "confirmation_period": 60,
}

DAILY_BACKUP = {
    "name": "Daily Database Backup",
    "period": 86400,
    "grace": 1800,
    "call": True,
    "sms": True,
    "email": True,
}


@pytest.fixture
def monitor_id(api):
    response = api.post("/api/v2/monitors", QUICK_HEALTH)
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


@pytest.fixture
def heartbeat_id(api):
    response = api.post("/api/v2/heartbeats", DAILY_BACKUP)
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]
