"""Prometheus metrics for Pharos itself, at ``GET /metrics``, on ``prometheus_client``.

Pharos runs as several processes (web, beat, aggregator, alert worker, region workers),
often in separate containers, so no in-process registry sees the whole system. The page
has two parts:

* **Figures read at scrape time** (config/metrics_sources.py): the database, for what its
  rows already say (results per region and outcome, rounds, incidents, notifications,
  recent pings, scheduler and sweep lag), the broker for queue depths, and the services
  health report. Every process's work shows up there, whichever machine it ran on.
* **Counters of the web tier** (``pharos_http_responses_total``), counted by the process
  that answered. Under gunicorn each worker is a process of its own, so they use
  prometheus_client's multiprocess mode (config/metrics_multiprocess.py): gunicorn points
  ``PROMETHEUS_MULTIPROC_DIR`` at a directory it empties at start, every worker writes its
  counts to a file there, the scrape sums the files of all workers (dead ones included, so a
  restarted worker loses no count) and gunicorn's ``child_exit`` hook marks dead workers.
  Without the variable (``manage.py runserver``, tests) the counts are this process's own.

Access: set ``PHAROS_METRICS_TOKEN`` and scrape with ``Authorization: Bearer <token>``.
A token in the query string is refused (400), never accepted: URLs land in access logs
and proxies' histories. Without the setting the page does not exist (404): an unprotected
page would tell anyone the names of the regions and the size of the queues.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from config.metrics_multiprocess import MULTIPROC_ENV

if TYPE_CHECKING:
    from datetime import datetime

    from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

# A counter's ``*_created`` twin (its creation time) means nothing summed over workers and
# doubles the page; Prometheus does not need it.
disable_created_metrics()

# The web tier's own counters live in this registry, not prometheus_client's global one:
# the global one also collects process and GC figures of whichever worker answers the
# scrape, which read as the whole tier's and are not.
WEB_REGISTRY = CollectorRegistry()

HTTP_RESPONSES = Counter(
    "pharos_http_responses",
    "HTTP responses the web tier sent, by route (ping, api, metrics, admin, other) and status code.",
    ["route", "status"],
    registry=WEB_REGISTRY,
)


def route_of(path: str) -> str:
    """The route label of a request path: a handful of values, so the label set stays small
    whatever paths clients try."""
    if path.startswith("/api/v1/heartbeat/"):
        return "ping"
    if path.startswith("/api/"):
        return "api"
    if path == "/metrics":
        return "metrics"
    if path.startswith("/admin/"):
        return "admin"
    return "other"


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# (route, status) -> the counter's child: labels() takes a lock and builds a key per call,
# which was most of the counting's cost on the ping path (bench/response_counting.py).
# A child survives a fork safely: prometheus_client re-opens its value file per process.
_children: dict[tuple[str, str], Any] = {}


def _count_response(route: str, status: str) -> None:
    child = _children.get((route, status))
    if child is None:
        child = _children.setdefault((route, status), HTTP_RESPONSES.labels(route=route, status=status))
    child.inc()


def counting_responses(application: WsgiApp) -> WsgiApp:
    """``application``, counting every response it starts in ``pharos_http_responses_total``.

    At the WSGI level rather than as a middleware, so the ping route, which skips Django's
    middleware chain, is counted too.
    """

    def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = route_of(environ.get("PATH_INFO", ""))

        def start_and_count(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            try:
                _count_response(route, status[:3])
            except Exception:  # noqa: BLE001 - counting must never cost a response
                log.debug("counting a response failed", exc_info=True)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return application(environ, start_and_count)

    return counted


# --- the page ------------------------------------------------------------------------------------


class ScrapeTimeFigures:
    """A prometheus_client collector of the figures read at scrape time, each source on its
    own: a failing source costs only its families and shows in ``pharos_metrics_source_up``."""

    def __init__(self, *, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        from config import metrics_sources

        up = GaugeMetricFamily(
            "pharos_metrics_source_up", "Whether a source of these metrics answered (1) or not (0).", labels=["source"]
        )
        for source, collector in metrics_sources.COLLECTORS:
            try:
                # Collected whole before the first family is yielded, so a source that fails
                # half-way leaves no half of itself on the page.
                families = list(collector(now=self.now))
            except Exception as error:  # noqa: BLE001
                log.warning("metrics source %s failed: %s", source, error, exc_info=True)
                up.add_metric([source], 0)
                if source == "database":
                    from django.db import connection

                    connection.close_if_unusable_or_obsolete()
                continue
            yield from families
            up.add_metric([source], 1)
        yield up


def page(*, now: datetime) -> bytes:
    """The whole exposition: the web tier's counters and the figures read now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(WEB_REGISTRY)
    registry.register(ScrapeTimeFigures(now=now))
    return generate_latest(registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    from django.conf import settings
    from django.http import Http404, HttpResponse
    from django.utils import timezone

    expected = settings.PHAROS_METRICS_TOKEN
    if not expected:
        raise Http404("metrics are off: set PHAROS_METRICS_TOKEN")
    if "token" in request.GET:
        return HttpResponse(
            "the metrics token goes in the Authorization header (Bearer), never in the URL\n",
            status=400,
            content_type="text/plain",
        )
    header = request.headers.get("Authorization", "")
    presented = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        response = HttpResponse("a valid metrics token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="pharos-metrics"'
        return response
    response = HttpResponse(page(now=timezone.now()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
