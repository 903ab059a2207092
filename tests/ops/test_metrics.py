"""GET /metrics: Prometheus text built from the database, the broker and shared counters."""

import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident
from config import metrics
from monitors.models import Round
from tests.ops.helpers import closed_port, monitor_created, result, send_batch, send_outcomes

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests"
SAMPLE = re.compile(r'^[a-z_][a-z0-9_]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$')


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
    """{'name{labels}': value} for every sample line of the page."""
    found = {}
    for line in page.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
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


def test_the_token_may_be_passed_as_a_query_parameter(client, metrics_on):
    assert client.get(f"/metrics?token={TOKEN}").status_code == 200


def test_every_line_of_the_page_is_valid_exposition_format(client, team, metrics_on):
    monitor = monitor_created(team, ago=timedelta(hours=1), now=timezone.now())
    result(monitor, "eu", checked_at=timezone.now(), outcome="down")
    metrics.count("checks", region="eu", outcome='we"ird\\value')
    metrics.flush_counts()
    page = scrape(client)
    for line in page.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or SAMPLE.match(line), line


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


def test_counts_from_another_process_show_up_on_the_page(client, metrics_on, redis_url):
    script = "from config.metrics import count\nfor _ in range(3): count('pings_received', kind='success')\n"
    subprocess.run([sys.executable, "-c", script], check=True, env={"REDIS_URL": redis_url, "PATH": ""}, timeout=60)
    found = samples(scrape(client))
    assert found['pharos_pings_received_total{kind="success"}'] == 3


def test_an_unreachable_database_or_broker_source_is_reported_not_fatal(client, metrics_on, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    found = samples(scrape(client))
    assert found['pharos_metrics_source_up{source="broker"}'] == 0
    assert found['pharos_metrics_source_up{source="database"}'] == 1


def test_count_never_raises_when_redis_is_unreachable():
    # In a process of its own: the counts it keeps for a retry must not reach the suite's Redis.
    script = "from config.metrics import count, flush_counts\ncount('pings_received')\nprint(flush_counts())\n"
    env = {"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0", "PATH": ""}
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip() == "False"


def test_counts_made_in_a_forked_child_are_sent_once_by_the_child(client, metrics_on, redis_url):
    script = (
        "import os\n"
        "from config.metrics import count, flush_counts\n"
        "count('pings_received', kind='start')\n"
        "flush_counts()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    count('pings_received', kind='start')\n"
        "    flush_counts()\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env={"REDIS_URL": redis_url, "PATH": ""}, timeout=60)
    assert samples(scrape(client))['pharos_pings_received_total{kind="start"}'] == 2


def test_count_is_a_no_op_without_redis(monkeypatch, clean_redis):
    monkeypatch.delenv("REDIS_URL")
    metrics.count("pings_received")
    metrics.flush_counts()
    assert clean_redis.keys("pharos:metrics:*") == []


def test_a_counter_named_like_a_database_family_does_not_duplicate_it(client, metrics_on):
    metrics.count("incidents", source="monitor")
    metrics.flush_counts()
    page = scrape(client)
    assert page.count("# TYPE pharos_incidents_total ") == 1
