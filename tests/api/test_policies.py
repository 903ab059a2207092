"""/api/v3/policies: escalation policies whose steps escalation can run."""

import pytest

from alerts.models import Channel, EscalationPolicy

STEPS = [
    {"type": "escalation", "wait_before": 0, "step_members": [{"type": "current_on_call"}]},
    {"type": "escalation", "wait_before": 300, "step_members": [{"type": "entire_team"}]},
]
# Read back exactly as sent: no ``"id": null`` added to members that had no id (issue #13).
STEPS_RETURNED = STEPS


def test_a_policy_is_created_and_returned(api, team):
    response = api.post(
        "/api/v3/policies", {"name": "Eleva on-call", "repeat_count": 2, "repeat_delay": 600, "steps": STEPS}
    )

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["type"] == "policy"
    attributes = data["attributes"]
    assert (attributes["name"], attributes["repeat_count"], attributes["repeat_delay"]) == ("Eleva on-call", 2, 600)
    assert attributes["steps"] == STEPS_RETURNED
    assert attributes["team_name"] == team.name


def test_members_may_name_users_and_channels_of_the_team(api, team, on_call_user):
    channel = Channel.objects.create(
        team=team, kind="webhook", name="Hook", config={"url": "https://hooks.eleva.care/x"}
    )
    steps = [
        {
            "wait_before": 0,
            "step_members": [{"type": "user", "id": on_call_user.pk}, {"type": "webhook", "id": str(channel.pk)}],
        }
    ]

    response = api.post("/api/v3/policies", {"name": "Named", "steps": steps})

    assert response.status_code == 201, response.content
    members = response.json()["data"]["attributes"]["steps"][0]["step_members"]
    assert members == [{"type": "user", "id": str(on_call_user.pk)}, {"type": "webhook", "id": str(channel.pk)}]


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [{"type": "time_branching", "wait_before": 0, "step_members": [{"type": "entire_team"}]}],
        [{"wait_before": -1, "step_members": [{"type": "entire_team"}]}],
        [{"wait_before": 0, "step_members": []}],
        [{"wait_before": 0, "step_members": [{"type": "carrier_pigeon"}]}],
        [{"wait_before": 0, "step_members": [{"type": "user"}]}],
        [{"wait_before": 0, "step_members": [{"type": "user", "id": 987654}]}],
        [{"wait_before": 0, "step_members": [{"type": "entire_team", "colour": "red"}]}],
        "not a list",
    ],
)
def test_steps_escalation_cannot_run_are_a_422_naming_steps(api, steps):
    response = api.post("/api/v3/policies", {"name": "Bad", "steps": steps})

    assert response.status_code == 422, response.content
    assert "steps" in response.json()["errors"]
    assert EscalationPolicy.objects.count() == 0


def test_a_channel_of_another_team_is_refused(api, other_team):
    foreign = Channel.objects.create(team=other_team, kind="webhook", config={"url": "https://theirs.example/x"})
    steps = [{"wait_before": 0, "step_members": [{"type": "webhook", "id": foreign.pk}]}]

    response = api.post("/api/v3/policies", {"name": "Sneaky", "steps": steps})

    assert response.status_code == 422
    assert "steps" in response.json()["errors"]


def test_patch_updates_and_delete_removes(api):
    policy_id = api.post("/api/v3/policies", {"name": "P", "steps": STEPS}).json()["data"]["id"]

    patched = api.patch(f"/api/v3/policies/{policy_id}", {"repeat_count": 1})
    deleted = api.delete(f"/api/v3/policies/{policy_id}")

    assert patched.status_code == 200
    assert patched.json()["data"]["attributes"]["steps"] == STEPS_RETURNED
    assert patched.json()["data"]["attributes"]["repeat_count"] == 1
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert not EscalationPolicy.objects.exists()


def test_patching_steps_without_type_or_wait_before_takes_their_defaults(api):
    policy_id = api.post("/api/v3/policies", {"name": "P", "steps": STEPS}).json()["data"]["id"]

    patched = api.patch(f"/api/v3/policies/{policy_id}", {"steps": [{"step_members": [{"type": "entire_team"}]}]})

    assert patched.status_code == 200, patched.content
    assert patched.json()["data"]["attributes"]["steps"] == [
        {"type": "escalation", "wait_before": 0, "step_members": [{"type": "entire_team"}]}
    ]


@pytest.mark.parametrize(
    "steps",
    [[{"wait_before": 5}], [{"step_members": [{"id": "3"}]}]],
    ids=["no members", "member without type"],
)
def test_patching_steps_that_lack_required_parts_is_a_422_naming_steps(api, steps):
    policy_id = api.post("/api/v3/policies", {"name": "P", "steps": STEPS}).json()["data"]["id"]

    patched = api.patch(f"/api/v3/policies/{policy_id}", {"steps": steps})

    assert patched.status_code == 422, patched.content
    assert "steps" in patched.json()["errors"]
