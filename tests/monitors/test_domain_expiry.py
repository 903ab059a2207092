"""Domain expiry: a monitor with ``domain_expiration`` set opens an incident when its
domain's registration (RDAP) expires within that many days, and resolves it once renewed.

RDAP is a real HTTP server on 127.0.0.1 answering RFC 9083 JSON; PHAROS_RDAP_URL points
at it.
"""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.incidents import Alerting, IncidentFacts, open_incident
from alerts.models import Incident, IncidentKind, IncidentSource
from monitors import domains
from monitors.domains import check_domain_expiry, registrable_domain
from monitors.models import DomainRegistration, MonitorStatus
from tests.monitors.conftest import T0

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class RDAPServer:
    """Answers ``GET /domain/<name>`` as told per domain; counts the requests it got."""

    def __init__(self):
        self.answers = {}  # domain -> ("json", expires_at) | ("status", code) | ("body", text) | ("hang", None)
        self.requests = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                domain = self.path.rsplit("/", 1)[-1]
                server.requests.append(domain)
                kind, value = server.answers.get(domain, ("status", 404))
                if kind == "hang":
                    server.release.wait(10)
                    return
                if kind == "json":
                    events = [{"eventAction": "registration", "eventDate": "2001-05-04T10:00:00Z"}]
                    if value is not None:
                        events.append(
                            {"eventAction": "expiration", "eventDate": value.isoformat().replace("+00:00", "Z")}
                        )
                    body, code = json.dumps({"objectClassName": "domain", "ldhName": domain, "events": events}), 200
                elif kind == "body":
                    body, code = value, 200
                else:
                    body, code = json.dumps({"errorCode": value}), value
                payload = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/rdap+json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def expires(self, domain, at):
        self.answers[domain] = ("json", at)


@pytest.fixture
def rdap(settings):
    server = RDAPServer()
    server.thread.start()
    settings.PHAROS_RDAP_URL = server.url
    try:
        yield server
    finally:
        server.release.set()
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)


@pytest.fixture
def watched(make_monitor):
    def make(url="https://api.example.com/health", days=14, **fields):
        fields.setdefault("status", MonitorStatus.UP)
        return make_monitor(url=url, domain_expiration=days, **fields)

    return make


def run(at, **options):
    options.setdefault("timeout", 0.3)
    return check_domain_expiry(now=at, **options)


def test_a_domain_expiring_within_the_window_opens_one_incident_with_the_cause_and_date(rdap, watched):
    monitor = watched(days=14)
    rdap.expires("example.com", T0 + 6 * DAY)
    run(T0)
    incident = Incident.objects.get()
    assert (incident.source_type, incident.source_id) == (IncidentSource.MONITOR, monitor.pk)
    assert incident.cause == "Domain expires in 6 days"
    assert incident.metadata["domain"] == "example.com"
    assert incident.metadata["expires_at"] == (T0 + 6 * DAY).isoformat()
    run(T0 + HOUR)
    assert Incident.objects.count() == 1


def test_an_expired_domain_says_so(rdap, watched):
    watched(days=7)
    rdap.expires("example.com", T0 - DAY)
    run(T0)
    assert Incident.objects.get().cause == "Domain expired"


def test_a_domain_expiring_outside_the_window_opens_nothing(rdap, watched):
    watched(days=14)
    rdap.expires("example.com", T0 + 15 * DAY)
    run(T0)
    assert not Incident.objects.exists()
    assert DomainRegistration.objects.get(domain="example.com").expires_at == T0 + 15 * DAY


def test_the_window_closes_in_on_a_stored_expiry_without_a_new_lookup(rdap, watched):
    watched(days=14)
    rdap.expires("example.com", T0 + 14 * DAY + 6 * HOUR)
    run(T0)
    assert not Incident.objects.exists()
    run(T0 + 7 * HOUR)
    assert rdap.requests == ["example.com"]
    assert Incident.objects.get().cause == "Domain expires in 14 days"


def test_a_renewal_seen_by_a_later_lookup_resolves_the_warning(rdap, watched):
    watched(days=30)
    rdap.expires("example.com", T0 + 20 * DAY)
    run(T0)
    rdap.expires("example.com", T0 + 385 * DAY)
    run(T0 + 11 * HOUR)
    assert Incident.objects.get().resolved_at is None  # no new lookup within 12 h
    run(T0 + 12 * HOUR)
    incident = Incident.objects.get()
    assert incident.resolved_at == T0 + 12 * HOUR
    assert incident.resolved_by == domains.RENEWED_BY


def test_a_second_run_within_twelve_hours_does_no_lookup(rdap, watched):
    watched()
    rdap.expires("example.com", T0 + 300 * DAY)
    run(T0)
    run(T0 + 11 * HOUR)
    assert rdap.requests == ["example.com"]
    run(T0 + 12 * HOUR)
    assert rdap.requests == ["example.com", "example.com"]


@pytest.mark.parametrize(
    "answer",
    [
        ("status", 500),
        ("hang", None),
        ("body", "<html>not rdap</html>"),
        ("body", '{"events": [{"eventAction": "expiration", "eventDate": "soon"}]}'),
    ],
    ids=["server-error", "timeout", "not-json", "bad-date"],
)
def test_a_failed_lookup_opens_nothing_and_is_retried_on_the_next_run(rdap, watched, answer):
    watched()
    rdap.answers["example.com"] = answer
    summary = run(T0, timeout=0.2)
    assert summary["failed"] == 1
    assert not Incident.objects.exists()
    registration = DomainRegistration.objects.get(domain="example.com")
    assert registration.checked_at is None and registration.last_error
    rdap.expires("example.com", T0 + 2 * DAY)
    run(T0 + HOUR)
    assert Incident.objects.get().cause == "Domain expires in 2 days"


def test_a_failed_lookup_keeps_what_was_known(rdap, watched):
    watched(days=14)
    rdap.expires("example.com", T0 + 5 * DAY)
    run(T0)
    rdap.answers["example.com"] = ("status", 503)
    run(T0 + 13 * HOUR)
    assert Incident.objects.get().resolved_at is None
    assert DomainRegistration.objects.get(domain="example.com").expires_at == T0 + 5 * DAY


def test_an_unknown_domain_opens_nothing_and_is_not_asked_again_within_twelve_hours(rdap, watched):
    watched(url="https://www.nowhere-registered.example/")
    run(T0)
    run(T0 + HOUR)
    assert rdap.requests == ["nowhere-registered.example"]
    assert not Incident.objects.exists()


def test_two_monitors_on_one_domain_cost_one_lookup(rdap, watched):
    first = watched(url="https://api.example.com/health")
    second = watched(url="https://www.example.com/", days=7)
    rdap.expires("example.com", T0 + 3 * DAY)
    run(T0)
    assert rdap.requests == ["example.com"]
    assert set(Incident.objects.values_list("source_id", flat=True)) == {first.pk, second.pk}


def test_monitors_on_ip_addresses_are_not_looked_up(rdap, watched):
    watched(url="https://192.0.2.10/health")
    watched(url="[2001:db8::1]:443", monitor_type="tcp")
    summary = run(T0)
    assert rdap.requests == []
    assert summary["domains"] == 0


def test_a_domain_warning_opens_beside_an_open_outage_and_its_renewal_leaves_the_outage_open(rdap, watched):
    monitor = watched(status=MonitorStatus.DOWN)
    outage = open_incident(
        team_id=monitor.team_id,
        source_type=IncidentSource.MONITOR,
        source_id=monitor.pk,
        facts=IncidentFacts(cause="Status 503", metadata={"kind": "outage"}),
        alerting=Alerting(),
        now=T0,
    )
    rdap.expires("example.com", T0 + 3 * DAY)
    run(T0)
    open_ones = dict(Incident.objects.open().values_list("kind", "cause"))
    assert open_ones == {IncidentKind.OUTAGE: "Status 503", IncidentKind.DOMAIN: "Domain expires in 3 days"}
    rdap.expires("example.com", T0 + 300 * DAY)
    run(T0 + 12 * HOUR)
    assert list(Incident.objects.open().values_list("pk", flat=True)) == [outage.pk]


@pytest.mark.parametrize("status", [MonitorStatus.PAUSED, MonitorStatus.MAINTENANCE])
def test_a_paused_or_in_maintenance_monitor_gets_its_warning_once_it_is_watched_again(rdap, watched, status):
    monitor = watched(status=status)
    rdap.expires("example.com", T0 + 3 * DAY)
    run(T0)
    assert not Incident.objects.exists()
    monitor.status = MonitorStatus.UP
    monitor.save(update_fields=["status"])
    run(T0 + HOUR)
    assert Incident.objects.get().cause == "Domain expires in 3 days"


def test_a_pending_monitor_is_warned_before_its_first_round(rdap, watched):
    watched(status=MonitorStatus.PENDING)
    rdap.expires("example.com", T0 + 3 * DAY)
    run(T0)
    assert Incident.objects.get().kind == IncidentKind.DOMAIN


def test_switching_domain_expiration_off_resolves_the_warning(rdap, watched):
    monitor = watched()
    rdap.expires("example.com", T0 + 3 * DAY)
    run(T0)
    monitor.domain_expiration = None
    monitor.save(update_fields=["domain_expiration"])
    run(T0 + HOUR)
    assert Incident.objects.get().resolved_by == domains.UNWATCHED_BY


@pytest.mark.parametrize(
    "url, domain",
    [
        ("https://example.com/", "example.com"),
        ("https://api.eu.example.com:8443/x", "example.com"),
        ("https://shop.example.co.uk/", "example.co.uk"),
        ("https://www.example.com.au/", "example.com.au"),
        ("https://portal.example.ac.jp/", "example.ac.jp"),
        ("https://EXAMPLE.org./", "example.org"),
        ("mail.example.net:25", "example.net"),
        ("example.io", "example.io"),
        ("https://bücher.example.de/", "example.de"),
        ("https://bücher.de/", "xn--bcher-kva.de"),
        ("https://192.0.2.1/", None),
        ("https://[2001:db8::1]/", None),
        ("2001:db8::1", None),
        ("https://localhost:8000/", None),
    ],
)
def test_the_registrable_domain_is_the_last_two_labels_or_three_under_a_common_second_level(url, domain):
    assert registrable_domain(url) == domain


def test_an_outage_opens_beside_an_open_domain_warning_and_its_recovery_leaves_the_warning_open(
    rdap, watched, settings
):
    from tests.monitors.conftest import ALL_UP, DOWN_TWICE, play

    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    monitor = watched(confirmation_period=0, recovery_period=0)
    rdap.expires("example.com", T0 + 3 * DAY)
    run(T0)
    warning = Incident.objects.get()
    play(monitor, T0 + 60 * timedelta(seconds=1), DOWN_TWICE)
    outage = Incident.objects.open().get(kind=IncidentKind.OUTAGE)
    assert outage.pk != warning.pk and outage.cause == "Status 503"
    assert Incident.objects.get(pk=warning.pk).resolved_at is None
    play(monitor, T0 + 90 * timedelta(seconds=1), ALL_UP)
    assert Incident.objects.get(pk=outage.pk).resolved_at is not None
    run(T0 + HOUR)
    assert list(Incident.objects.open().values_list("pk", flat=True)) == [warning.pk]


def test_a_passing_round_after_maintenance_leaves_a_domain_warning_alone(rdap, watched, settings):
    from tests.monitors.conftest import ALL_UP, play

    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    monitor = watched(recovery_period=180)
    rdap.expires("example.com", T0 + 3 * DAY)
    run(T0)
    monitor.status = MonitorStatus.PENDING  # as after a pause or a maintenance window
    monitor.save(update_fields=["status"])
    play(monitor, T0 + 60 * timedelta(seconds=1), ALL_UP)
    warning = Incident.objects.get()
    assert warning.resolved_at is None and warning.status == "Started"
    assert monitor.status == MonitorStatus.UP
