"""GET /metrics: Prometheus text (prometheus_client) built from the database, the broker,
the health report and the web tier's own counters. Pages are read with prometheus_client's
own parser, so a page a Prometheus server could not read fails here."""

import io
import wsgiref.util
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Incident
from config.metrics import counting_responses
from monitors.models import Round
from tests.ops.helpers import closed_port, monitor_created, result, send_batch, send_outcomes

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_on(settings, redis_url, clean_redis):
    settings.PHAROS_METRICS_TOKEN = TOKEN
    settings.CELERY_BROKER_URL = redis_url
    return clean_redis


def scrape(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode()


def samples(page):
    """{'name{label="value",...}': value} for every sample of the page, labels sorted by
    name; parsed by prometheus_client, which raises on a line Prometheus could not read."""
    found = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            key = f"{sample.name}{{{labels}}}" if labels else sample.name
            assert key not in found, f"{key} appears twice"
            found[key] = sample.value
    return found


def test_metrics_do_not_exist_without_a_token_setting(client, settings):
    settings.PHAROS_METRICS_TOKEN = None
    assert client.get("/metrics").status_code == 404


def test_a_wrong_token_is_refused(client, metrics_on):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-it")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_token_is_refused(client, metrics_on):
    assert client.get("/metrics").status_code == 401


def test_a_token_in_the_query_string_is_refused_even_when_it_is_right(client, metrics_on):
    # URLs land in access logs and proxies' histories: the token must never travel there.
    response = client.get(f"/metrics?token={TOKEN}")
    assert response.status_code == 400
    assert b"Authorization" in response.content
    assert client.get(f"/metrics?token={TOKEN}", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 400


def test_the_page_is_the_text_exposition_format_prometheus_reads(client, team, metrics_on):
    monitor = monitor_created(team, ago=timedelta(hours=1), now=timezone.now())
    result(monitor, "eu", checked_at=timezone.now(), outcome="down")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {family.name: family.type for family in text_string_to_metric_families(response.content.decode())}
    assert families["pharos_check_results_recent"] == "gauge"
    assert families["pharos_incidents"] == "counter"
    assert families["pharos_http_responses"] == "counter"


def _served_by_wsgi(application, path):
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
    wsgiref.util.setup_testing_defaults(environ)
    statuses = []
    b"".join(application(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    return statuses


def test_every_response_of_the_web_tier_is_counted_by_route_and_status(client, metrics_on):
    def teapot(environ, start_response):
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"short and stout"]

    def counts():
        found = samples(scrape(client))
        return tuple(
            found.get(f'pharos_http_responses_total{{route="{route}",status="418"}}', 0) for route in ("ping", "api")
        )

    counted = counting_responses(teapot)
    before = counts()
    _served_by_wsgi(counted, "/api/v1/heartbeat/some-token/fail")
    _served_by_wsgi(counted, "/api/v2/monitors")
    _served_by_wsgi(counted, "/api/v2/monitors")
    after = counts()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 2)


def test_recent_check_results_are_counted_by_region_and_outcome(client, team, metrics_on):
    now = timezone.now()
    monitor = monitor_created(team, ago=timedelta(hours=1), now=now)
    result(monitor, "us", checked_at=now - timedelta(seconds=20))
    result(monitor, "eu", checked_at=now - timedelta(seconds=20), outcome="down")
    result(monitor, "eu", checked_at=now - timedelta(seconds=50), outcome="down")
    result(monitor, "as", checked_at=now - timedelta(hours=1))
    found = samples(scrape(client))
    assert found['pharos_check_results_recent{outcome="down",region="eu"}'] == 2
    assert found['pharos_check_results_recent{outcome="up",region="us"}'] == 1
    assert not any('region="as"' in key and key.startswith("pharos_check_results_recent") for key in found)


def test_round_verdicts_are_counted_and_open_rounds_shown_as_open(client, team, metrics_on):
    now = timezone.now()
    monitor = monitor_created(team, ago=timedelta(hours=1), now=now)
    for seconds, verdict in ((10, "down"), (20, "down"), (30, "inconclusive"), (40, "")):
        moment = now - timedelta(seconds=seconds)
        Round.objects.create(
            monitor=monitor,
            scheduled_at=moment,
            regions=["us", "eu", "as"],
            dispatched_at=moment,
            deadline=moment + timedelta(seconds=30),
            verdict=verdict,
            closed_at=moment if verdict else None,
        )
    found = samples(scrape(client))
    assert found['pharos_rounds_recent{verdict="down"}'] == 2
    assert found['pharos_rounds_recent{verdict="inconclusive"}'] == 1
    assert found['pharos_rounds_recent{verdict="open"}'] == 1


def test_scheduler_lag_is_the_wait_of_the_most_overdue_active_monitor(client, team, metrics_on):
    now = timezone.now()
    monitor_created(team, ago=timedelta(hours=1), now=now, next_check_at=now - timedelta(seconds=90))
    monitor_created(team, ago=timedelta(hours=1), now=now, next_check_at=now - timedelta(hours=2), paused_at=now)
    lag = samples(scrape(client))["pharos_scheduler_lag_seconds"]
    assert 90 <= lag < 3600


def test_queue_depth_is_reported_per_region(client, metrics_on):
    send_batch("eu")
    send_batch("eu")
    found = samples(scrape(client))
    assert found['pharos_probe_queue_depth{region="eu"}'] == 2
    assert found['pharos_probe_queue_depth{region="us"}'] == 0


def test_aggregator_lag_is_how_long_the_oldest_outcome_batch_has_waited(client, metrics_on):
    send_outcomes("eu", (timezone.now() - timedelta(seconds=120)).isoformat())
    found = samples(scrape(client))
    assert found['pharos_queue_depth{queue="results"}'] == 1
    assert found["pharos_aggregator_lag_seconds"] >= 120


def test_incidents_are_counted_by_source_open_and_total(client, team, metrics_on):
    now = timezone.now()
    Incident.objects.create(team=team, source_type="monitor", source_id=1, started_at=now)
    Incident.objects.create(
        team=team, source_type="monitor", source_id=2, started_at=now, resolved_at=now, status="Resolved"
    )
    found = samples(scrape(client))
    assert found['pharos_incidents_total{source="monitor"}'] == 2
    assert found['pharos_incidents_open{source="monitor"}'] == 1


def test_an_unreachable_database_or_broker_source_is_reported_not_fatal(client, metrics_on, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    found = samples(scrape(client))
    assert found['pharos_metrics_source_up{source="broker"}'] == 0
    assert found['pharos_metrics_source_up{source="database"}'] == 1
