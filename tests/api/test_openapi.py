"""The OpenAPI document at /api/schema/, the docs page, and Schemathesis against the served API.

Schemathesis generates requests for every operation from the served document and checks
each answer: no 5xx, only documented status codes and content types, and bodies that
match the documented schemas. Runs are derandomized (a fixed seed per operation) and
bounded by ``max_examples`` so the suite neither flakes nor grows slow.
"""

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alerts.models import Channel, EscalationPolicy, Incident, PolicyGroup, Urgency
from heartbeats.models import Heartbeat, HeartbeatGroup
from monitors.models import Monitor, MonitorGroup
from status.models import StatusPage, StatusPageGroup, StatusPageResource, StatusPageSection, StatusReport, StatusUpdate
from teams.models import Membership, OnCallCalendar, OnCallRotation

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)


def test_the_schema_is_served_as_valid_openapi_3(db, client):
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    document = response.json()
    validate_schema(document)  # drf-spectacular's check against the OpenAPI 3 meta-schema
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/v2/monitors",
        "/api/v2/monitors/{id}",
        "/api/v2/monitors/{id}/response-times",
        "/api/v2/monitors/{id}/sla",
        "/api/v2/heartbeats",
        "/api/v2/heartbeats/{id}",
        "/api/v2/heartbeats/{id}/availability",
        "/api/v3/incidents",
        "/api/v3/incidents/{id}",
        "/api/v3/incidents/{id}/acknowledge",
        "/api/v3/incidents/{id}/resolve",
        "/api/v2/incidents",
        "/api/v3/policies",
        "/api/v3/policies/{id}",
        # issue #13
        "/api/v2/monitor-groups",
        "/api/v2/monitor-groups/{id}",
        "/api/v2/monitor-groups/{id}/monitors",
        "/api/v2/heartbeat-groups",
        "/api/v2/heartbeat-groups/{id}",
        "/api/v2/heartbeat-groups/{id}/heartbeats",
        "/api/v2/on-calls",
        "/api/v2/on-calls/{id}",
        "/api/v2/on-calls/{id}/events",
        "/api/v2/on-calls/{id}/events/{event_id}",
        "/api/v2/on-calls/{id}/rotation",
        "/api/v2/urgencies",
        "/api/v2/urgencies/{id}",
        "/api/v2/policy-groups",
        "/api/v2/policy-groups/{id}",
        "/api/v3/incidents/{id}/comments",
        # issue #12
        "/api/v2/status-pages",
        "/api/v2/status-pages/{id}",
        "/api/v2/status-pages/{status_page_id}/sections",
        "/api/v2/status-pages/{status_page_id}/sections/{id}",
        "/api/v2/status-pages/{status_page_id}/resources",
        "/api/v2/status-pages/{status_page_id}/resources/{id}",
        "/api/v2/status-pages/{status_page_id}/status-reports",
        "/api/v2/status-pages/{status_page_id}/status-reports/{id}",
        "/api/v2/status-pages/{status_page_id}/status-reports/{status_report_id}/status-updates",
        "/api/v2/status-pages/{status_page_id}/status-reports/{status_report_id}/status-updates/{id}",
        "/api/v2/status-page-groups",
        "/api/v2/status-page-groups/{id}",
    ):
        assert path in document["paths"], path


def test_the_schema_generates_without_a_warning(db, tmp_path):
    # A warning means drf-spectacular guessed a shape; generated clients deserve no guesses.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_the_schema_describes_the_envelope_and_hides_secrets(db, client):
    schemas = client.get("/api/schema/?format=json").json()["components"]["schemas"]

    resource = schemas["MonitorResource"]["properties"]
    assert set(resource) == {"id", "type", "attributes", "relationships"}
    assert set(schemas["MonitorList"]["properties"]) == {"data", "pagination"}
    assert "auth_password" in schemas["MonitorRequest"]["properties"]
    assert "auth_password" not in schemas["Monitor"]["properties"]
    assert schemas["MonitorRequest"]["additionalProperties"] is False
    assert schemas["ValidationErrors"]["properties"]["errors"]["type"] == "object"


def test_the_docs_page_loads_its_assets_from_pharos_itself(db, client):
    page = client.get("/api/docs/")
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")

    assert page.status_code == 200
    assert b"/api/docs/assets/swagger-ui-bundle.js" in page.content
    assert b"cdn" not in page.content.lower()
    assert asset.status_code == 200


@pytest.fixture
def api_schema(db):
    # Requests go through the real WSGI handler. Its request_started/finished signals close
    # a connection that is inside a transaction — the test's — so, as Django's own test
    # client does, keep them disconnected while the suite drives the handler.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def existing(team, api_token):
    """Real objects of the token's team, so generated requests reach them and not only 404s."""
    monitor = Monitor.objects.create(team=team, url="https://eleva.care/api/healthcheck", pronounceable_name="Quick")
    heartbeat = Heartbeat.objects.create(team=team, name="Daily Database Backup", period=86400, grace=1800)
    incident = Incident.objects.create(
        team=team,
        source_type="monitor",
        source_id=monitor.pk,
        name="Quick",
        cause="Status 503",
        url=monitor.url,
        http_method="GET",
        regions=["us", "eu"],
        started_at=timezone.now(),
    )
    policy = EscalationPolicy.objects.create(
        team=team,
        name="On-call",
        steps=[{"type": "escalation", "wait_before": 0, "step_members": [{"type": "entire_team"}]}],
    )
    channel = Channel.objects.create(
        team=team, kind="webhook", name="Hook", config={"url": "https://hooks.eleva.care/x"}
    )
    monitor_group = MonitorGroup.objects.create(team=team, name="Production")
    heartbeat_group = HeartbeatGroup.objects.create(team=team, name="Nightly")
    urgency = Urgency.objects.create(team=team, name="High")
    policy_group = PolicyGroup.objects.create(team=team, name="Backend")
    person = get_user_model().objects.create_user("ana", email="ana@eleva.care")
    Membership.objects.create(team=team, user=person)
    calendar = OnCallCalendar.objects.create(team=team, name="Tier 2")
    OnCallRotation.objects.create(
        calendar=calendar, user_ids=[person.pk], rotation_interval="week", start_rotations_at=timezone.now()
    )
    page = StatusPage.objects.create(team=team, company_name="Eleva Care", subdomain="eleva")
    section = StatusPageSection.objects.create(status_page=page, name="API")
    resource = StatusPageResource.objects.create(
        status_page=page, section=section, resource_type="Monitor", resource_id=monitor.pk, public_name="Website"
    )
    report = StatusReport.objects.create(
        status_page=page,
        title="Slow logins",
        starts_at=timezone.now(),
        affected_resources=[{"status_page_resource_id": str(resource.pk), "status": "degraded"}],
    )
    update = StatusUpdate.objects.create(status_report=report, message="Looking into it", published_at=timezone.now())
    return {
        "status-pages": page.pk,
        "sections": section.pk,
        "resources": resource.pk,
        "status-reports": report.pk,
        "status-updates": update.pk,
        "status-page-groups": StatusPageGroup.objects.create(team=team, name="Customers").pk,
        "monitors": monitor.pk,
        "heartbeats": heartbeat.pk,
        "incidents": incident.pk,
        "policies": policy.pk,
        "channels": channel.pk,
        "monitor-groups": monitor_group.pk,
        "heartbeat-groups": heartbeat_group.pk,
        "urgencies": urgency.pk,
        "policy-groups": policy_group.pk,
        "on-calls": calendar.pk,
    }


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_documented_answers(case, api_token, existing, settings):
    # Only when needed: pytest-django nests one more override per assignment, and every
    # example of every operation runs in this one test, so unconditional assignments end
    # in a RecursionError inside django.conf once there are enough operations.
    if settings.PHAROS_API_RATE_LIMIT != 0:
        settings.PHAROS_API_RATE_LIMIT = 0
    parameters = case.path_parameters or {}
    if "id" in parameters and len(str(parameters["id"])) % 2 == 0:
        # Every other generated id is swapped for a real one; derandomized, so always the same ones.
        parts = case.path.split("/")
        collection = parts[parts.index("{id}") - 1] if "{id}" in parts else parts[3]
        if collection in existing:
            parameters["id"] = str(existing[collection])
    # A nested path's parents are real ones unless the generated id happens to be odd.
    for name, collection in (("status_page_id", "status-pages"), ("status_report_id", "status-reports")):
        if name in parameters and len(str(parameters[name])) % 2 == 0:
            parameters[name] = str(existing[collection])
    response = case.call_wsgi(headers={"Authorization": f"Bearer {api_token}"})
    case.validate_response(response, checks=CHECKS)
