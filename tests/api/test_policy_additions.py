"""Policies' additions of issue #13: exact steps, urgencies, policy groups, incident tokens.

Incident tokens are exercised the way another system would use one: a POST to
/api/v3/incidents with the token as the bearer and no API token, then the incident's
escalation reaching whoever the policy names, over the urgency's channels.
"""

import pytest

from alerts.models import EscalationPolicy, Incident, Notification, PolicyGroup, Urgency
from teams.models import ApiToken, Membership

NOT_FOUND = {"errors": "Resource with provided ID was not found"}
URGENCY_ATTRIBUTES = {"name", "call", "sms", "email", "push", "critical_alert", "created_at", "updated_at", "team_name"}


def make_policy(api, steps=None, **attributes):
    steps = steps or [{"type": "escalation", "wait_before": 0, "step_members": [{"type": "entire_team"}]}]
    response = api.post("/api/v3/policies", {"name": "Payments", "steps": steps, **attributes})
    assert response.status_code == 201, response.content
    return response.json()["data"]


def make_urgency(api, **attributes):
    response = api.post("/api/v2/urgencies", {"name": "High", **attributes})
    assert response.status_code == 201, response.content
    return response.json()["data"]


# --- steps read back exactly as sent -------------------------------------------------------------


def test_step_members_read_back_exactly_as_sent_with_no_id_added(api, team):
    steps = [
        {
            "type": "escalation",
            "wait_before": 0,
            "step_members": [{"type": "current_on_call"}, {"type": "entire_team"}],
        }
    ]

    created = make_policy(api, steps)
    fetched = api.get(f"/api/v3/policies/{created['id']}").json()["data"]

    assert created["attributes"]["steps"] == steps
    assert fetched["attributes"]["steps"] == steps
    assert "id" not in fetched["attributes"]["steps"][0]["step_members"][0]


# --- urgencies ---------------------------------------------------------------------------------


def test_an_urgency_is_created_with_its_channels_and_read_back(api, team):
    created = make_urgency(api, call=True, sms=True, email=False, push=False, critical_alert=True)

    assert created["type"] == "urgency"
    assert set(created["attributes"]) == URGENCY_ATTRIBUTES
    attributes = created["attributes"]
    assert [attributes[k] for k in ("call", "sms", "email", "push", "critical_alert")] == [
        True,
        True,
        False,
        False,
        True,
    ]
    assert attributes["team_name"] == team.name
    assert api.get(f"/api/v2/urgencies/{created['id']}").json()["data"] == created


def test_an_urgency_defaults_to_email_and_push(api):
    attributes = make_urgency(api)["attributes"]

    assert [attributes[k] for k in ("call", "sms", "email", "push", "critical_alert")] == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_urgencies_are_listed_paginated_updated_and_deleted(api):
    ids = [make_urgency(api, name=f"u{n}")["id"] for n in range(3)]

    page = api.get("/api/v2/urgencies", {"per_page": 2}).json()
    renamed = api.patch(f"/api/v2/urgencies/{ids[0]}", {"name": "Low", "sms": True}).json()["data"]["attributes"]
    deleted = api.delete(f"/api/v2/urgencies/{ids[1]}")

    assert [u["id"] for u in page["data"]] == ids[:2] and page["pagination"]["next"]
    assert (renamed["name"], renamed["sms"]) == ("Low", True)
    assert deleted.status_code == 204
    assert not Urgency.objects.filter(pk=ids[1]).exists()


@pytest.mark.parametrize(
    "body, attribute",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "sms": "often"}, "sms"),
        ({"name": "x", "pager": True}, "pager"),
    ],
)
def test_a_bad_urgency_is_a_422_naming_the_attribute(api, body, attribute):
    response = api.post("/api/v2/urgencies", body)

    assert response.status_code == 422
    assert attribute in response.json()["errors"]
    assert not Urgency.objects.exists()


def test_a_policy_step_takes_an_urgency_of_the_team_and_reads_it_back(api, other_api):
    urgency = make_urgency(api)["id"]
    theirs = make_urgency(other_api)["id"]
    step = {"type": "escalation", "wait_before": 0, "urgency_id": urgency, "step_members": [{"type": "entire_team"}]}

    policy = make_policy(api, [step])
    foreign = api.post("/api/v3/policies", {"name": "x", "steps": [{**step, "urgency_id": theirs}]})

    assert policy["attributes"]["steps"] == [step]
    assert foreign.status_code == 422 and "steps" in foreign.json()["errors"]


def test_an_urgency_a_policy_step_still_names_cannot_be_deleted(api):
    urgency = make_urgency(api)["id"]
    make_policy(
        api,
        [{"wait_before": 0, "urgency_id": urgency, "step_members": [{"type": "entire_team"}]}],
        name="Night shift",
    )

    response = api.delete(f"/api/v2/urgencies/{urgency}")

    assert response.status_code == 409
    assert "Night shift" in response.json()["errors"]
    assert Urgency.objects.filter(pk=urgency).exists()


def test_a_step_pages_people_over_its_urgencys_channels_not_the_incidents_flags(api, team, django_user_model):
    ana = django_user_model.objects.create_user("ana", email="ana@example.com")
    Membership.objects.create(team=team, user=ana, phone_number="+15550101")
    urgency = make_urgency(api, call=True, sms=True, email=False, push=False)["id"]
    policy = make_policy(api, [{"wait_before": 0, "urgency_id": urgency, "step_members": [{"type": "entire_team"}]}])

    response = api.post(
        "/api/v3/incidents",
        {"summary": "Payments failing", "requester_email": "ops@example.com", "email": True, "policy_id": policy["id"]},
    )

    assert response.status_code == 201, response.content
    sent = set(Notification.objects.values_list("recipient", "kind"))
    assert sent == {(f"user:{ana.pk}", "sms"), (f"user:{ana.pk}", "call")}


# --- policy groups -------------------------------------------------------------------------------


def test_a_policy_group_is_created_and_a_policy_joins_it(api, team):
    group = api.post("/api/v2/policy-groups", {"name": "Backend", "sort_index": 1}).json()["data"]
    policy = make_policy(api, policy_group_id=group["id"])

    assert group["type"] == "policy_group"
    assert group["attributes"]["name"] == "Backend" and group["attributes"]["team_name"] == team.name
    assert policy["attributes"]["policy_group_id"] == group["id"]
    left = api.patch(f"/api/v3/policies/{policy['id']}", {"policy_group_id": None}).json()["data"]
    assert left["attributes"]["policy_group_id"] is None


def test_deleting_a_policy_group_ungroups_its_policies(api):
    group = api.post("/api/v2/policy-groups", {"name": "Backend"}).json()["data"]["id"]
    policy = make_policy(api, policy_group_id=group)["id"]

    assert api.delete(f"/api/v2/policy-groups/{group}").status_code == 204
    assert EscalationPolicy.objects.get(pk=policy).policy_group_id is None


def test_a_policy_cannot_join_another_teams_policy_group(api, other_api):
    theirs = other_api.post("/api/v2/policy-groups", {"name": "Theirs"}).json()["data"]["id"]

    response = api.post(
        "/api/v3/policies",
        {"name": "x", "policy_group_id": theirs, "steps": [{"step_members": [{"type": "entire_team"}]}]},
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["policy_group_id"]


def test_policy_groups_are_listed_paginated(api):
    for n in range(3):
        api.post("/api/v2/policy-groups", {"name": f"g{n}", "sort_index": 3 - n})

    page = api.get("/api/v2/policy-groups", {"per_page": 2}).json()

    assert [g["attributes"]["name"] for g in page["data"]] == ["g2", "g1"]
    assert page["pagination"]["last"].endswith("page=2")


@pytest.mark.parametrize("path", ["/api/v2/urgencies", "/api/v2/policy-groups"])
def test_another_teams_urgencies_and_policy_groups_are_not_found(api, other_api, path):
    theirs = other_api.post(path, {"name": "Theirs"}).json()["data"]["id"]

    answers = [
        api.get(f"{path}/{theirs}"),
        api.patch(f"{path}/{theirs}", {"name": "Mine"}),
        api.delete(f"{path}/{theirs}"),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(404, NOT_FOUND)] * 3
    assert api.get(path).json()["data"] == []
    assert other_api.get(f"{path}/{theirs}").json()["data"]["attributes"]["name"] == "Theirs"


# --- incident tokens -----------------------------------------------------------------------------


def test_a_policy_has_a_read_only_incident_token_of_its_own(api):
    first, second = make_policy(api), make_policy(api, name="Other")

    token = first["attributes"]["incident_token"]
    assert len(token) >= 22 and token != second["attributes"]["incident_token"]
    ignored = api.patch(f"/api/v3/policies/{first['id']}", {"incident_token": "chosen"}).json()["data"]
    assert ignored["attributes"]["incident_token"] == token


def test_an_incident_token_opens_a_manual_incident_for_its_policy_without_an_api_token(api, client, team):
    policy = make_policy(api)
    token = policy["attributes"]["incident_token"]

    response = client.post(
        "/api/v3/incidents",
        {"summary": "Card payments failing", "requester_email": "psp@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert (incident.team_id, incident.policy_id, incident.source_type) == (team.pk, int(policy["id"]), "manual")
    assert response.json()["data"]["attributes"]["policy_id"] == policy["id"]


def test_an_incident_token_cannot_name_another_policy(api, client):
    policy, other = make_policy(api), make_policy(api, name="Other")

    response = client.post(
        "/api/v3/incidents",
        {"summary": "x", "requester_email": "psp@example.com", "policy_id": other["id"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {policy['attributes']['incident_token']}",
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["policy_id"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v3/incidents"),
        ("get", "/api/v3/policies"),
        ("post", "/api/v2/monitors"),
        ("get", "/api/v2/urgencies"),
    ],
)
def test_an_incident_token_opens_incidents_and_nothing_else(api, client, method, path):
    token = make_policy(api)["attributes"]["incident_token"]

    response = getattr(client, method)(path, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    assert response.json() == {"errors": "Invalid Team API token"}


def test_an_unknown_incident_token_is_a_401_and_opens_nothing(api, client):
    make_policy(api)

    response = client.post(
        "/api/v3/incidents",
        {"summary": "x", "requester_email": "a@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer not-a-real-incident-token",
    )

    assert response.status_code == 401
    assert not Incident.objects.exists()


def test_a_revoked_api_token_is_not_mistaken_for_an_incident_token(api, client, team):
    make_policy(api)
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")

    response = client.post(
        "/api/v3/incidents",
        {"summary": "x", "requester_email": "a@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )

    assert response.status_code == 401
    assert PolicyGroup.objects.count() == 0 and not Incident.objects.exists()
