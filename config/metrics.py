"""Prometheus metrics for Pharos itself, at ``GET /metrics``.

Pharos runs as several processes (web, beat, aggregator, alert worker, region workers),
so an in-process registry would show one process's view. The page is built at scrape
time from shared sources instead:

* the database, for what its rows already say (results per region and outcome over the
  last five minutes, scheduler lag, incidents, notifications by status, recent pings);
* the broker, for queue depths and how long the oldest result batch has waited;
* shared counters in Redis (``pharos:metrics:<name>``), which any process bumps with
  :func:`count`.

Access: set ``PHAROS_METRICS_TOKEN`` and scrape with ``Authorization: Bearer <token>`` or
``?token=<token>``. Without the setting the page does not exist (404): an unprotected
page would tell anyone the names of the regions and the size of the queues.

For the other parts of Pharos — counting something that happened::

    from config.metrics import count

    count("pings_received")
    count("checks", region="eu", outcome="down")
    count("round_verdicts", verdict="inconclusive")
    count("notifications_sent", kind="email")      # or "notifications_failed"

``count`` never raises and never waits on the network: it adds to an in-process tally
that a background thread flushes to Redis (HINCRBY, one pipeline per flush). Without
``REDIS_URL`` (the quick start) it does nothing. Each name shows up on the page as
``pharos_<name>_total`` with its labels. It imports nothing from Django, so the region
worker may use it too.
"""

import atexit
import hmac
import json
import logging
import os
import re
import threading
import time

log = logging.getLogger(__name__)

KEY_PREFIX = "pharos:metrics:"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# Help texts for the counters the other parts of Pharos are expected to bump; any other
# name still appears, with a generic help line.
COUNTER_HELP = {
    "checks": "Outcomes recorded by the aggregator, by region and outcome.",
    "round_verdicts": "Rounds closed by the aggregator, by verdict.",
    "notifications_sent": "Notifications delivered, by kind.",
    "notifications_failed": "Notification delivery attempts that failed, by kind.",
    "pings_received": "Heartbeat pings received, by kind.",
    "batches_dropped": "Probe batches a region worker dropped (expired or overloaded), by region.",
}


# --- counting from any process ------------------------------------------------------------


class _Tally:
    """Counts added in this process, waiting for the flusher thread to send them."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Fresh state. Also run in a forked child (gunicorn, Celery prefork): the parent's
        thread does not exist there, a lock it held at the fork would stay held forever,
        and counts copied from the parent would be sent twice."""
        self.lock = threading.Lock()
        # Held for a whole flush, so flush_counts() returns only once counts that the
        # thread took a moment earlier have reached Redis too.
        self.flushing = threading.Lock()
        self.pending = {}
        self.wake = threading.Event()
        self.thread = None
        self.url = None
        self.client = None

    def add(self, key, field, amount):
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="pharos-metrics", daemon=True)
                self.thread.start()
            self.pending[(key, field)] = self.pending.get((key, field), 0) + amount
        self.wake.set()

    def _run(self):
        while True:
            self.wake.wait()
            self.wake.clear()
            if not self.flush():
                # Redis is away: keep the tally (bounded by the number of label sets) and
                # try again later instead of spinning.
                time.sleep(1.0)
                self.wake.set()

    def flush(self):
        """Send the pending counts; True when there was nothing to send or it was sent."""
        with self.flushing:
            return self._flush()

    def _flush(self):
        with self.lock:
            batch, self.pending = self.pending, {}
        if not batch:
            return True
        try:
            client = self._client()
            if client is None:
                return True
            with client.pipeline(transaction=False) as pipe:
                for (key, field), amount in batch.items():
                    pipe.hincrby(key, field, amount)
                pipe.execute()
            return True
        except Exception as error:  # noqa: BLE001 - counting must never hurt the caller
            log.debug("metrics flush failed: %s", error)
            with self.lock:
                for item, amount in batch.items():
                    self.pending[item] = self.pending.get(item, 0) + amount
            return False

    def _client(self):
        url = os.environ.get("REDIS_URL", "").strip()
        if not url:
            return None
        if self.client is None or self.url != url:
            import redis

            self.url = url
            self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return self.client


_tally = _Tally()
os.register_at_fork(after_in_child=_tally.reset)
atexit.register(_tally.flush)


def label_field(labels):
    """The Redis hash field for a label set: sorted JSON, so one label set is one field."""
    return json.dumps({str(k): str(v) for k, v in sorted(labels.items())}, separators=(",", ":"))


def count(name, amount=1, **labels):
    """Add ``amount`` to the shared counter ``pharos_<name>_total{labels}``.

    Never raises, never blocks on Redis; a no-op without REDIS_URL. ``name`` is
    lower_snake_case; label values are turned into strings.
    """
    try:
        if not _NAME.match(name) or not os.environ.get("REDIS_URL"):
            return
        _tally.add(KEY_PREFIX + name, label_field(labels), int(amount))
    except Exception:  # noqa: BLE001
        log.debug("count(%r) ignored", name, exc_info=True)


def flush_counts():
    """Send this process's pending counts now (tests, and processes about to exit)."""
    return _tally.flush()


# --- the page ---------------------------------------------------------------------------


class Family:
    """One metric family: its samples as ``(labels dict, value)``."""

    def __init__(self, name, kind, help_text):
        self.name, self.kind, self.help = name, kind, help_text
        self.samples = []

    def add(self, value, **labels):
        self.samples.append((labels, value))
        return self


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def render(families):
    """Prometheus text exposition format (version 0.0.4)."""
    lines = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            text = ",".join(f'{key}="{_escape(val)}"' for key, val in sorted(labels.items()))
            lines.append(f"{family.name}{{{text}}} {_number(value)}" if text else f"{family.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def collect(*, now):
    """Every family, each collector on its own: a failing source costs only its families
    and shows up in ``pharos_metrics_source_up``."""
    from config import metrics_sources

    families = []
    up = Family("pharos_metrics_source_up", "gauge", "Whether a source of these metrics answered (1) or not (0).")
    for source, collector in metrics_sources.COLLECTORS:
        try:
            families.extend(collector(now=now))
            up.add(1, source=source)
        except Exception as error:  # noqa: BLE001
            log.warning("metrics source %s failed: %s", source, error, exc_info=True)
            up.add(0, source=source)
            if source == "database":
                from django.db import connection

                connection.close_if_unusable_or_obsolete()
    families.append(up)
    # A shared counter named like a database family (count("incidents") next to
    # pharos_incidents_total) would make the page unparseable: the first one wins.
    seen, unique = set(), []
    for family in families:
        if family.name in seen:
            log.warning("metrics family %s appears twice; keeping the first", family.name)
            continue
        seen.add(family.name)
        unique.append(family)
    return unique


def _presented_token(request):
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.GET.get("token", "")


def metrics_view(request):
    from django.conf import settings
    from django.http import Http404, HttpResponse
    from django.utils import timezone

    expected = settings.PHAROS_METRICS_TOKEN
    if not expected:
        raise Http404("metrics are off: set PHAROS_METRICS_TOKEN")
    presented = _presented_token(request)
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        response = HttpResponse("a valid metrics token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="pharos-metrics"'
        return response
    body = render(collect(now=timezone.now()))
    response = HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
