"""A monitor's page: charts, phases in ms, 90 uptime bars, certificate, rounds with a cell
per region, incidents with durations — and a form with real widgets instead of JSON."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Incident
from monitors.models import CheckResult, LoneFailure, Monitor, ResultRollup, Round
from tests.foundation.test_admin_rules import monitor_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def checked_monitor(team, settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    now = timezone.now()
    monitor = Monitor.objects.create(team=team, url="https://shop.example.com", regions=["us", "eu"], status="down")
    Monitor.objects.filter(pk=monitor.pk).update(created_at=now - timedelta(days=10))
    monitor.refresh_from_db()
    for minutes_ago, outcome, code, seconds in ((30, "up", 200, 0.1), (20, "up", 200, 0.12), (10, "down", 503, 0.2504)):
        at = now - timedelta(minutes=minutes_ago)
        Round.objects.create(
            monitor=monitor, scheduled_at=at, regions=["us", "eu"], dispatched_at=at, deadline=at, verdict=outcome
        )
        for region in ("us", "eu"):
            CheckResult.objects.create(
                monitor=monitor,
                scheduled_at=at,
                region=region,
                outcome=outcome,
                cause="" if outcome == "up" else "Status 503",
                status_code=code,
                response_time=seconds,
                name_lookup_time=0.000028,
                connection_time=0.0031,
                tls_handshake_time=0.0122,
                processing_time=0.2,
                data_transfer_time=0.0004,
                tls_issuer="Let's Encrypt R11",
                tls_expires_at=now + timedelta(days=40),
                checked_at=at,
            )
    # Older than the raw window: drawn from rollups.
    ResultRollup.objects.create(
        monitor=monitor,
        region="us",
        hour=(now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0),
        checks=20,
        failures=0,
        mean_response_time=0.09,
    )
    Incident.objects.create(
        team=team,
        source_type="monitor",
        source_id=monitor.pk,
        cause="Status 502",
        started_at=now - timedelta(days=2, hours=1),
        resolved_at=now - timedelta(days=2),
        status="Resolved",
    )
    Incident.objects.create(
        team=team,
        source_type="monitor",
        source_id=monitor.pk,
        cause="Status 503",
        started_at=now - timedelta(minutes=10),
    )
    return monitor


def test_the_page_shows_charts_phases_uptime_certificate_rounds_and_incidents(operator_client, checked_monitor):
    body = operator_client.get(reverse("admin:monitors_monitor_change", args=[checked_monitor.pk])).content.decode()

    charts = body[body.index('id="console-response-times"') : body.index('id="console-phases"')]
    assert charts.count("<svg") == 3  # 24 h, 7 d, 30 d
    day, week, month = charts.split("<h3>")[1:]
    assert day.count("<polyline") == 2  # us and eu
    assert "No data yet" not in week and "No data yet" not in month
    phases = body[body.index('id="console-phases"') : body.index('id="console-uptime"')]
    assert "0.0 ms" in phases  # DNS: 28 µs
    assert "200.0 ms" in phases and "12.2 ms" in phases and "2.8e-05" not in phases
    uptime = body[body.index('id="console-uptime"') : body.index('id="console-certificate"')]
    assert uptime.count("<rect") == 90
    assert "Let&#x27;s Encrypt R11" in body
    rounds = body[body.index('id="console-rounds"') : body.index('id="console-incidents"')]
    assert rounds.count("<tr>") == 1 + 3  # the header and one line per round
    assert rounds.count("250.4 ms") == 2 and "Status 503" in rounds
    incidents = body[body.index('id="console-incidents"') :]
    assert "1\xa0hour" in incidents and "10\xa0minutes so far" in incidents
    # The raw-seconds table of the old page is gone.
    assert "0.2504" not in body


def test_the_form_offers_region_and_weekday_checkboxes_and_a_list_of_codes(operator_client, checked_monitor):
    page = operator_client.get(reverse("admin:monitors_monitor_change", args=[checked_monitor.pk]))
    body = page.content.decode()

    assert re.search(r'type="checkbox" name="regions" value="us"[^>]*checked', body)
    assert not re.search(r'type="checkbox" name="regions" value="as"[^>]*checked', body)
    assert 'type="checkbox" name="maintenance_days" value="sat"' in body
    assert 'name="maintenance_from"' in body and 'type="time"' in body
    assert '<select name="maintenance_timezone"' in body
    # Blank quorum: the effective value is shown, as the API reports it (2 regions: 2).
    assert 'placeholder="2 (majority)"' in body
    assert "Validating" in body and "recovery period" in body


def test_a_monitor_saved_through_the_widgets_stores_the_lists(operator_client, team, settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    data = monitor_form(
        team,
        monitor_type="expected_status_code",
        regions=["eu", "us"],
        expected_status_codes="200, 204,301",
        maintenance_days=["sun", "sat"],
        maintenance_from="22:00",
        maintenance_to="23:30:00",
        maintenance_timezone="Europe/Prague",
    )

    answer = operator_client.post(reverse("admin:monitors_monitor_add"), data)

    assert answer.status_code == 302
    monitor = Monitor.objects.get()
    assert monitor.regions == ["us", "eu"]  # in the configured order
    assert monitor.expected_status_codes == [200, 204, 301]
    assert monitor.maintenance_days == ["sat", "sun"]
    assert str(monitor.maintenance_to) == "23:30:00" and monitor.maintenance_timezone == "Europe/Prague"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expected_status_codes", "200, abc", "is not an HTTP status code"),
        ("expected_status_codes", "200, 700", "is not an HTTP status code"),
        ("regions", ["mars"], "not one of the available choices"),
        ("maintenance_days", ["someday"], "not one of the available choices"),
        ("quorum", "3", "At most the number of regions (2)"),
    ],
)
def test_the_widgets_refuse_bad_input_on_the_field(operator_client, team, settings, field, value, message):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    data = monitor_form(team, regions=["us", "eu"])
    data[field] = value

    answer = operator_client.post(reverse("admin:monitors_monitor_add"), data)

    assert answer.status_code == 200
    assert message in str(answer.context["adminform"].form.errors[field])
    assert not Monitor.objects.exists()


@pytest.mark.parametrize("model", [CheckResult, ResultRollup, Round, LoneFailure], ids=lambda m: m.__name__)
def test_rows_pharos_writes_itself_have_no_add_and_no_editable_form(operator_client, checked_monitor, model):
    if model is LoneFailure:
        LoneFailure.objects.create(region="as", target="shop.example.com", monitor=checked_monitor, at=timezone.now())
    row = model.objects.first()
    name = f"admin:monitors_{model._meta.model_name}"

    assert operator_client.get(reverse(f"{name}_add")).status_code == 403
    listing = operator_client.get(reverse(f"{name}_changelist")).content.decode()
    assert reverse(f"{name}_add") not in listing
    page = operator_client.get(reverse(f"{name}_change", args=[row.pk])).content.decode()
    assert 'name="_save"' not in page


def test_a_check_results_phases_read_in_milliseconds(operator_client, checked_monitor):
    result = CheckResult.objects.filter(outcome="down").first()

    page = operator_client.get(reverse("admin:monitors_checkresult_change", args=[result.pk])).content.decode()

    assert "250.4 ms" in page and "0.0 ms" in page and "12.2 ms" in page
    assert "2.8e-05" not in page and "0.2504" not in page
