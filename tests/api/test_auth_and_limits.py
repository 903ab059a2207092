"""Bearer tokens (401 in the contract's shape) and the per-token rate limit (429 + Retry-After)."""

import time

import pytest
from django.utils import timezone

from config.jsonapi.ratelimit import KEY_PREFIX
from teams.models import ApiToken
from tests.api.conftest import ApiClient

INVALID = {"errors": "Invalid Team API token"}
ENDPOINTS = ["/api/v2/monitors", "/api/v2/heartbeats", "/api/v3/incidents", "/api/v2/incidents", "/api/v3/policies"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_token_is_a_401_in_the_contract_shape(db, path):
    response = ApiClient(None).get(path)

    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer ph_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "ph_no_scheme", "Bearer " + "x" * 500]
)
def test_a_wrong_token_is_a_401(db, api_token, header):
    response = ApiClient(None).get("/api/v2/monitors", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json() == INVALID


def test_a_revoked_token_is_a_401(team):
    row, raw = ApiToken.issue(team, name="old")
    row.revoked_at = timezone.now()
    row.save()

    assert ApiClient(raw).get("/api/v2/monitors").status_code == 401


def test_a_401_writes_nothing(db):
    response = ApiClient(None).post("/api/v2/monitors", {"url": "https://eleva.care/"})

    assert response.status_code == 401
    from monitors.models import Monitor

    assert not Monitor.objects.exists()


def test_a_used_token_records_when_it_was_last_used(team, api):
    api.get("/api/v2/monitors")

    assert ApiToken.objects.get(team=team).last_used_at is not None


@pytest.fixture
def limit_of_three(settings, clean_redis):
    settings.PHAROS_API_RATE_LIMIT = 3
    return clean_redis


def test_requests_over_the_limit_are_a_429_with_retry_after(api, limit_of_three):
    statuses = [api.get("/api/v2/monitors").status_code for _ in range(3)]
    limited = api.get("/api/v2/monitors")

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert isinstance(limited.json()["errors"], str)


def test_the_count_lives_in_redis_where_every_worker_sees_it(api, limit_of_three):
    api.get("/api/v2/monitors")

    keys = limit_of_three.keys(f"{KEY_PREFIX}:*")
    assert len(keys) == 1
    assert int(limit_of_three.get(keys[0])) == 1
    assert 0 < limit_of_three.ttl(keys[0]) <= 61


def test_each_token_has_its_own_allowance(api, other_api, limit_of_three):
    for _ in range(4):
        api.get("/api/v2/monitors")

    assert api.get("/api/v2/monitors").status_code == 429
    assert other_api.get("/api/v2/monitors").status_code == 200


def test_a_zero_limit_means_no_limit(api, settings, clean_redis):
    settings.PHAROS_API_RATE_LIMIT = 0

    assert {api.get("/api/v2/monitors").status_code for _ in range(5)} == {200}
    assert clean_redis.keys(f"{KEY_PREFIX}:*") == []


def test_an_unknown_endpoint_under_the_api_is_a_json_404(api):
    response = api.get("/api/v2/monitor")

    assert response.status_code == 404
    assert response.json() == {"errors": "Resource with provided ID was not found"}


def test_without_redis_the_count_goes_to_a_file_cache_every_process_shares(api, team, settings, monkeypatch, tmp_path):
    from django.core.cache.backends.filebased import FileBasedCache

    from config.jsonapi import ratelimit

    monkeypatch.delenv("REDIS_URL")
    # As config.settings configures a process started without REDIS_URL (the status pages'
    # cache made the default cache Redis whenever REDIS_URL is set).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    monkeypatch.setattr(ratelimit, "_file_cache", None)
    settings.BASE_DIR = tmp_path
    settings.PHAROS_API_RATE_LIMIT = 2

    statuses = [api.get("/api/v2/monitors").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    # Another process opens the same folder and reads the same count.
    other_process = FileBasedCache(str(tmp_path / "var" / "ratelimit"), {})
    prefix = f"{ratelimit.KEY_PREFIX}:{ApiToken.objects.get(team=team).token_hash[:32]}:"
    window = int(time.time() // 60)
    assert sum(other_process.get(f"{prefix}{w}") or 0 for w in (window - 1, window)) == 3


def test_a_request_body_over_the_limit_is_a_413_and_nothing_is_saved(api):
    from config.jsonapi.media import API_BODY_LIMIT
    from monitors.models import Monitor

    answer = api.post("/api/v2/monitors", {"url": "https://example.com", "request_body": "x" * API_BODY_LIMIT})

    assert answer.status_code == 413
    assert isinstance(answer.json()["errors"], str)
    assert not Monitor.objects.exists()
