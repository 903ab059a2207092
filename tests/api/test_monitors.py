"""/api/v2/monitors: validation, PATCH semantics, request headers, pause/resume, DELETE, filters."""

import pytest

from alerts.models import EscalationPolicy
from monitors.models import Monitor, MonitorRequestHeader
from tests.api.conftest import QUICK_HEALTH

INVALID_ATTRIBUTES = [
    ("url", {"url": "not a url"}),
    ("url", {"url": "ftp://eleva.care/file"}),
    ("url", {"url": "eleva.care", "monitor_type": "status"}),
    ("url", {"url": "https://eleva.care/", "monitor_type": "tcp", "port": "443"}),
    ("url", {"url": "bad host!", "monitor_type": "ping"}),
    ("url", {"url": "http://127.0.0.1/admin"}),
    ("url", {"url": "10.0.0.7", "monitor_type": "ping"}),
    ("url", {"url": "localhost", "monitor_type": "smtp"}),
    ("url", {"url": "http://2130706433/"}),
    ("url", {"url": "http://0x7f000001:8080/"}),
    ("url", {"url": "127.1", "monitor_type": "ping"}),
    ("url", {"url": "0177.0.0.1", "monitor_type": "tcp", "port": "22"}),
    ("url", {"url": "0x7f.1", "monitor_type": "smtp"}),
    ("url", {"url": "http://[2002:7f00:1::]/"}),
    ("url", {"url": "64:ff9b::a00:7", "monitor_type": "ping"}),
    ("url", {"url": "fec0::1", "monitor_type": "ping"}),
    ("url", {"url": "100.64.0.1", "monitor_type": "ping"}),
    ("monitor_type", {"monitor_type": "carrier_pigeon"}),
    ("regions", {"regions": ["us", "mars"]}),
    ("regions", {"regions": []}),
    ("check_frequency", {"check_frequency": 5}),
    ("check_frequency", {"check_frequency": "often"}),
    ("confirmation_period", {"confirmation_period": -1}),
    ("recovery_period", {"recovery_period": -30}),
    ("team_wait", {"team_wait": -5}),
    ("request_timeout", {"request_timeout": 0}),
    ("expected_status_codes", {"monitor_type": "expected_status_code", "expected_status_codes": [200, 600]}),
    ("expected_status_codes", {"monitor_type": "expected_status_code", "expected_status_codes": [99]}),
    ("expected_status_codes", {"monitor_type": "expected_status_code"}),
    ("ssl_expiration", {"ssl_expiration": 5}),
    ("domain_expiration", {"domain_expiration": 90}),
    ("http_method", {"http_method": "TRACE"}),
    ("required_keyword", {"monitor_type": "keyword"}),
    ("port", {"url": "db.eleva.care", "monitor_type": "tcp"}),
    ("port", {"url": "db.eleva.care", "monitor_type": "tcp", "port": "70000"}),
    ("quorum", {"regions": ["us", "eu"], "quorum": 3}),
    ("maintenance_timezone", {"maintenance_timezone": "Mars/Olympus_Mons"}),
    ("maintenance_days", {"maintenance_days": ["monday"]}),
    ("maintenance_to", {"maintenance_from": "01:00:00"}),
    ("favourite_colour", {"favourite_colour": "teal"}),
    ("policy_id", {"policy_id": "999999"}),
    ("request_headers", {"request_headers": [{"name": "X-Bad\nName", "value": "x"}]}),
    ("request_headers", {"request_headers": [{"name": "X-Ok", "value": "a\r\nInjected: yes"}]}),
]


@pytest.mark.parametrize(
    "attribute, change", INVALID_ATTRIBUTES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(INVALID_ATTRIBUTES)]
)
def test_an_invalid_attribute_is_a_422_naming_it_and_nothing_is_saved(api, attribute, change):
    response = api.post("/api/v2/monitors", {**QUICK_HEALTH, **change})

    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert attribute in errors
    assert all(isinstance(message, str) for message in errors[attribute])
    assert Monitor.objects.count() == 0
    assert MonitorRequestHeader.objects.count() == 0


def test_a_missing_url_is_a_422_naming_url(api):
    response = api.post("/api/v2/monitors", {"pronounceable_name": "No target"})

    assert response.status_code == 422
    assert response.json() == {"errors": {"url": ["This field is required."]}}


def test_a_body_that_is_not_json_is_a_400_with_a_string_error(api):
    response = api.client.post(
        "/api/v2/monitors", "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}"
    )

    assert response.status_code == 400
    assert isinstance(response.json()["errors"], str)


def test_a_policy_of_another_team_is_refused(api, other_team):
    foreign = EscalationPolicy.objects.create(team=other_team, name="Theirs", steps=[])

    response = api.post("/api/v2/monitors", {**QUICK_HEALTH, "policy_id": str(foreign.pk)})

    assert response.status_code == 422
    assert "policy_id" in response.json()["errors"]


def test_a_policy_of_the_team_is_accepted_and_returned_as_a_relationship(api, team):
    policy = EscalationPolicy.objects.create(team=team, name="Ours", steps=[])

    response = api.post("/api/v2/monitors", {**QUICK_HEALTH, "policy_id": policy.pk})

    data = response.json()["data"]
    assert data["attributes"]["policy_id"] == str(policy.pk)
    assert data["relationships"]["policy"] == {"data": {"id": str(policy.pk), "type": "policy"}}


def test_http_method_is_accepted_in_any_case_and_returned_lower_case(api):
    response = api.post("/api/v2/monitors", {**QUICK_HEALTH, "http_method": "POST", "request_body": "{}"})

    assert response.status_code == 201
    assert response.json()["data"]["attributes"]["http_method"] == "post"
    assert Monitor.objects.get().http_method == "post"


def test_auth_password_is_stored_but_never_returned(api, monitor_id):
    response = api.patch(f"/api/v2/monitors/{monitor_id}", {"auth_username": "probe", "auth_password": "s3cret"})

    assert response.status_code == 200
    assert "auth_password" not in response.json()["data"]["attributes"]
    assert "s3cret" not in response.content.decode()
    assert Monitor.objects.get(pk=monitor_id).auth_password == "s3cret"


def test_host_types_take_a_host_and_mail_types_get_their_default_port(api):
    response = api.post("/api/v2/monitors", {"url": "mail.eleva.care", "monitor_type": "smtp"})

    assert response.status_code == 201, response.content
    assert response.json()["data"]["attributes"]["port"] == "25"


def test_ports_are_kept_as_a_comma_separated_string(api):
    body = {"url": "mail.eleva.care", "monitor_type": "tcp", "port": "25, 465,587"}

    response = api.post("/api/v2/monitors", body)

    assert response.json()["data"]["attributes"]["port"] == "25,465,587"


def test_private_targets_are_allowed_when_the_operator_says_so(api, settings):
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True

    response = api.post("/api/v2/monitors", {"url": "http://127.0.0.1:8080/health"})

    assert response.status_code == 201


@pytest.mark.parametrize("target", ["2130706433", "127.1", "0x7f000001"])
def test_a_numeric_host_form_is_refused_even_when_private_targets_are_allowed(api, settings, target):
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True

    response = api.post("/api/v2/monitors", {"url": target, "monitor_type": "ping"})

    assert response.status_code == 422
    assert response.json()["errors"]["url"] == ["spells an IPv4 address as a number; write it as a.b.c.d"]


def test_json_api_media_type_and_envelope_are_accepted(api):
    body = {"data": {"type": "monitor", "attributes": {"url": "https://eleva.care/"}}}

    response = api.post("/api/v2/monitors", body, content_type="application/vnd.api+json")

    assert response.status_code == 201
    assert response.json()["data"]["attributes"]["url"] == "https://eleva.care/"


# --- PATCH ----------------------------------------------------------------------------------


def test_patch_changes_only_what_it_names_and_returns_the_whole_monitor(api, monitor_id):
    response = api.patch(f"/api/v2/monitors/{monitor_id}", {"pronounceable_name": "Renamed"})

    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert attributes["pronounceable_name"] == "Renamed"
    assert attributes["check_frequency"] == 30
    assert attributes["regions"] == ["us", "eu", "as"]
    assert attributes["recovery_period"] == 60
    assert response.json()["data"]["id"] == monitor_id


def test_a_rejected_patch_changes_nothing(api, monitor_id):
    response = api.patch(f"/api/v2/monitors/{monitor_id}", {"pronounceable_name": "Renamed", "check_frequency": 1})

    assert response.status_code == 422
    assert "check_frequency" in response.json()["errors"]
    assert Monitor.objects.get(pk=monitor_id).pronounceable_name == QUICK_HEALTH["pronounceable_name"]


def test_patch_checks_combinations_against_the_stored_monitor(api, monitor_id):
    assert api.patch(f"/api/v2/monitors/{monitor_id}", {"quorum": 3}).status_code == 200

    response = api.patch(f"/api/v2/monitors/{monitor_id}", {"regions": ["us"]})

    assert response.status_code == 422
    assert "quorum" in response.json()["errors"]


def test_patch_to_a_host_type_validates_the_stored_url(api, monitor_id):
    response = api.patch(f"/api/v2/monitors/{monitor_id}", {"monitor_type": "ping"})

    assert response.status_code == 422
    assert "url" in response.json()["errors"]


def test_changing_the_frequency_reschedules_within_the_new_period(api, monitor_id):
    Monitor.objects.filter(pk=monitor_id).update(next_check_at=None)

    api.patch(f"/api/v2/monitors/{monitor_id}", {"check_frequency": 600})

    monitor = Monitor.objects.get(pk=monitor_id)
    assert monitor.next_check_at is not None
    assert (monitor.next_check_at - monitor.updated_at).total_seconds() <= 600 + 1


def test_request_headers_are_added_updated_and_destroyed_by_patch(api):
    created = api.post(
        "/api/v2/monitors",
        {**QUICK_HEALTH, "request_headers": [{"name": "X-Keep", "value": "1"}, {"name": "X-Drop", "value": "2"}]},
    ).json()["data"]
    keep, drop = created["attributes"]["request_headers"]
    assert keep["id"].isdigit() and keep == {"id": keep["id"], "name": "X-Keep", "value": "1"}

    response = api.patch(
        f"/api/v2/monitors/{created['id']}",
        {
            "request_headers": [
                {"name": "X-New", "value": "3"},
                {"id": keep["id"], "value": "changed"},
                {"id": drop["id"], "_destroy": True},
            ]
        },
    )

    assert response.status_code == 200
    headers = response.json()["data"]["attributes"]["request_headers"]
    assert [(h["name"], h["value"]) for h in headers] == [("X-Keep", "changed"), ("X-New", "3")]
    assert headers[0]["id"] == keep["id"]


def test_a_header_id_of_another_monitor_is_refused(api, monitor_id):
    other = api.post("/api/v2/monitors", {**QUICK_HEALTH, "request_headers": [{"name": "X-A", "value": "1"}]})
    foreign_header = other.json()["data"]["attributes"]["request_headers"][0]["id"]

    response = api.patch(
        f"/api/v2/monitors/{monitor_id}", {"request_headers": [{"id": foreign_header, "_destroy": True}]}
    )

    assert response.status_code == 422
    assert "request_headers" in response.json()["errors"]
    assert MonitorRequestHeader.objects.filter(pk=foreign_header).exists()


def test_pausing_sets_paused_at_and_status_and_resuming_clears_them(api, monitor_id):
    paused = api.patch(f"/api/v2/monitors/{monitor_id}", {"paused": True}).json()["data"]["attributes"]
    assert paused["status"] == "paused"
    assert paused["paused_at"] is not None

    resumed = api.patch(f"/api/v2/monitors/{monitor_id}", {"paused": False}).json()["data"]["attributes"]

    assert resumed["status"] == "pending"
    assert resumed["paused_at"] is None
    assert Monitor.objects.get(pk=monitor_id).next_check_at is not None


def test_read_only_attributes_sent_back_are_ignored(api, monitor_id):
    whole = api.get(f"/api/v2/monitors/{monitor_id}").json()["data"]["attributes"]

    response = api.patch(f"/api/v2/monitors/{monitor_id}", {**whole, "status": "up", "pronounceable_name": "Again"})

    assert response.status_code == 200, response.content
    assert response.json()["data"]["attributes"]["status"] == "pending"


# --- GET, DELETE, filters -------------------------------------------------------------------


def test_get_returns_the_monitor(api, monitor_id):
    response = api.get(f"/api/v2/monitors/{monitor_id}")

    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["url"] == QUICK_HEALTH["url"]


def test_delete_answers_204_with_no_body_and_the_monitor_is_gone(api, monitor_id):
    response = api.delete(f"/api/v2/monitors/{monitor_id}")

    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/v2/monitors/{monitor_id}").status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/v2/monitors/999999", "/api/v2/monitors/abc", "/api/v2/monitors/99999999999999999999999"]
)
def test_an_unknown_monitor_is_a_404_in_the_contract_shape(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {"errors": "Resource with provided ID was not found"}


def test_list_filters_by_exact_url_and_name(api):
    api.post("/api/v2/monitors", QUICK_HEALTH)
    api.post("/api/v2/monitors", {**QUICK_HEALTH, "url": "https://eleva.care/other", "pronounceable_name": "Other"})

    by_url = api.get("/api/v2/monitors", {"url": "https://eleva.care/other"}).json()["data"]
    by_name = api.get("/api/v2/monitors", {"pronounceable_name": "Eleva Care - Quick Health"}).json()["data"]
    partial = api.get("/api/v2/monitors", {"pronounceable_name": "Eleva"}).json()["data"]

    assert [m["attributes"]["pronounceable_name"] for m in by_url] == ["Other"]
    assert [m["attributes"]["url"] for m in by_name] == [QUICK_HEALTH["url"]]
    assert partial == []


def test_patch_sets_and_clears_the_policy(api, team, monitor_id):
    policy = EscalationPolicy.objects.create(team=team, name="Ours", steps=[])

    set_ = api.patch(f"/api/v2/monitors/{monitor_id}", {"policy_id": str(policy.pk)}).json()["data"]
    cleared = api.patch(f"/api/v2/monitors/{monitor_id}", {"policy_id": None}).json()["data"]

    assert set_["attributes"]["policy_id"] == str(policy.pk)
    assert cleared["attributes"]["policy_id"] is None
    assert Monitor.objects.get(pk=monitor_id).policy_id is None


def test_deleting_a_monitor_resolves_its_open_incident(api, monitor_id):
    from django.utils import timezone

    from alerts.incidents import Alerting, IncidentFacts, open_incident
    from alerts.models import Incident

    monitor = Monitor.objects.get(pk=monitor_id)
    incident = open_incident(
        team_id=monitor.team_id,
        source_type="monitor",
        source_id=monitor.pk,
        facts=IncidentFacts(cause="Status 503"),
        alerting=Alerting.of(monitor),
        now=timezone.now(),
    )

    assert api.delete(f"/api/v2/monitors/{monitor_id}").status_code == 204

    incident = Incident.objects.get(pk=incident.pk)
    assert incident.status == "Resolved"
    assert incident.resolved_by == "API token tests (monitor deleted)"


def test_a_json_api_client_gets_its_media_type_back(api, monitor_id):
    response = api.get(f"/api/v2/monitors/{monitor_id}", HTTP_ACCEPT="application/vnd.api+json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json()["data"]["id"] == monitor_id
