"""/api/v2/monitor-groups and /api/v2/heartbeat-groups, and a group's pause reaching its members.

"Pauses checks and alerts" is checked against the real consumers of ``paused_at``: the
scheduler's tick (no round is dispatched), the aggregator's state machine (a failing round
opens nothing), the heartbeat sweep and the ping URL (an overdue or failing heartbeat
pages nobody).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident
from heartbeats.models import Heartbeat, HeartbeatGroup
from heartbeats.sweep import sweep
from monitors import scheduler
from monitors.models import Monitor, MonitorGroup, RoundVerdict
from monitors.state import apply_verdict
from monitors.verdicts import Verdict
from tests.api.conftest import DAILY_BACKUP, QUICK_HEALTH

NOT_FOUND = {"errors": "Resource with provided ID was not found"}
GROUP_ATTRIBUTES = {"name", "sort_index", "paused", "created_at", "updated_at", "team_name"}


def make_group(api, kind="monitor", **attributes):
    response = api.post(f"/api/v2/{kind}-groups", {"name": "Production", **attributes})
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def make_monitor(api, group_id=None, **attributes):
    body = {**QUICK_HEALTH, **attributes}
    if group_id is not None:
        body["monitor_group_id"] = group_id
    response = api.post("/api/v2/monitors", body)
    assert response.status_code == 201, response.content
    return response.json()["data"]


def make_heartbeat(api, group_id=None, **attributes):
    body = {**DAILY_BACKUP, **attributes}
    if group_id is not None:
        body["heartbeat_group_id"] = group_id
    response = api.post("/api/v2/heartbeats", body)
    assert response.status_code == 201, response.content
    return response.json()["data"]


# --- the group resource ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["monitor", "heartbeat"])
def test_a_group_is_created_and_read_back_with_every_attribute(api, team, kind):
    response = api.post(f"/api/v2/{kind}-groups", {"name": "Backend", "sort_index": 3})

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["type"] == f"{kind}_group"
    assert set(data["attributes"]) == GROUP_ATTRIBUTES
    assert data["attributes"]["name"] == "Backend"
    assert data["attributes"]["sort_index"] == 3
    assert data["attributes"]["paused"] is False
    assert data["attributes"]["team_name"] == team.name
    assert api.get(f"/api/v2/{kind}-groups/{data['id']}").json()["data"] == data


@pytest.mark.parametrize("kind", ["monitor", "heartbeat"])
def test_a_group_is_renamed_and_listed_in_sort_order(api, kind):
    later = make_group(api, kind, name="B", sort_index=2)
    first = make_group(api, kind, name="A", sort_index=1)

    assert api.patch(f"/api/v2/{kind}-groups/{later}", {"name": "B2"}).json()["data"]["attributes"]["name"] == "B2"
    assert [item["id"] for item in api.get(f"/api/v2/{kind}-groups").json()["data"]] == [first, later]


@pytest.mark.parametrize("kind", ["monitor", "heartbeat"])
def test_group_lists_are_paginated(api, kind):
    for number in range(3):
        make_group(api, kind, name=f"g{number}")

    page = api.get(f"/api/v2/{kind}-groups", {"per_page": 2}).json()

    assert len(page["data"]) == 2
    assert page["pagination"]["next"].endswith("per_page=2&page=2")
    assert len(api.get(page["pagination"]["next"]).json()["data"]) == 1


@pytest.mark.parametrize(
    "body, attribute",
    [
        ({"name": "x" * 201}, "name"),
        ({"sort_index": "first"}, "sort_index"),
        ({"paused": "maybe"}, "paused"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_group_attribute_is_a_422_naming_it(api, body, attribute):
    response = api.post("/api/v2/monitor-groups", body)

    assert response.status_code == 422
    assert attribute in response.json()["errors"]
    assert not MonitorGroup.objects.exists()


def test_a_monitor_names_its_group(api):
    group = make_group(api)
    monitor = make_monitor(api, group)

    assert monitor["attributes"]["monitor_group_id"] == group
    ungrouped = api.patch(f"/api/v2/monitors/{monitor['id']}", {"monitor_group_id": None}).json()["data"]
    assert ungrouped["attributes"]["monitor_group_id"] is None


def test_a_heartbeat_names_its_group(api):
    group = make_group(api, "heartbeat")
    heartbeat = make_heartbeat(api, group)

    assert heartbeat["attributes"]["heartbeat_group_id"] == group
    assert Heartbeat.objects.get(pk=heartbeat["id"]).heartbeat_group_id == int(group)


@pytest.mark.parametrize("kind, member", [("monitor", "monitors"), ("heartbeat", "heartbeats")])
def test_another_teams_group_cannot_be_joined(api, other_api, kind, member):
    theirs = make_group(other_api, kind)
    body = {**(QUICK_HEALTH if kind == "monitor" else DAILY_BACKUP), f"{kind}_group_id": theirs}

    response = api.post(f"/api/v2/{member}", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [f"{kind}_group_id"]


def test_a_group_lists_its_own_monitors_paginated(api):
    group = make_group(api)
    members = [make_monitor(api, group, url=f"https://eleva.care/{n}")["id"] for n in range(3)]
    make_monitor(api, url="https://eleva.care/elsewhere")

    first = api.get(f"/api/v2/monitor-groups/{group}/monitors", {"per_page": 2}).json()
    second = api.get(first["pagination"]["next"]).json()

    assert first["data"][0]["type"] == "monitor"
    assert [m["id"] for m in first["data"] + second["data"]] == members
    assert second["pagination"]["next"] is None


def test_a_group_lists_its_own_heartbeats(api):
    group = make_group(api, "heartbeat")
    member = make_heartbeat(api, group)["id"]
    make_heartbeat(api)

    listed = api.get(f"/api/v2/heartbeat-groups/{group}/heartbeats").json()["data"]

    assert [h["id"] for h in listed] == [member]
    assert listed[0]["type"] == "heartbeat"


@pytest.mark.parametrize("kind", ["monitor", "heartbeat"])
def test_another_teams_group_is_not_found_for_every_method(api, other_api, kind):
    theirs = make_group(other_api, kind, name="Theirs")
    members = "monitors" if kind == "monitor" else "heartbeats"

    answers = [
        api.get(f"/api/v2/{kind}-groups/{theirs}"),
        api.patch(f"/api/v2/{kind}-groups/{theirs}", {"name": "Mine", "paused": True}),
        api.delete(f"/api/v2/{kind}-groups/{theirs}"),
        api.get(f"/api/v2/{kind}-groups/{theirs}/{members}"),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(404, NOT_FOUND)] * 4
    assert api.get(f"/api/v2/{kind}-groups").json()["data"] == []
    assert other_api.get(f"/api/v2/{kind}-groups/{theirs}").json()["data"]["attributes"]["name"] == "Theirs"


# --- pausing a group pauses checks and alerts ---------------------------------------------


def test_pausing_a_group_pauses_its_monitors_and_the_tick_dispatches_none_of_them(api):
    group = make_group(api)
    grouped = make_monitor(api, group)["id"]
    other = make_monitor(api, url="https://eleva.care/other")["id"]
    Monitor.objects.update(next_check_at=timezone.now() - timedelta(seconds=5))

    assert api.patch(f"/api/v2/monitor-groups/{group}", {"paused": True}).json()["data"]["attributes"]["paused"]
    report = scheduler.tick(now=timezone.now(), publish=False)

    assert report.monitor_ids == [int(other)]
    shown = api.get(f"/api/v2/monitors/{grouped}").json()["data"]["attributes"]
    assert shown["status"] == "paused" and shown["paused_at"] is not None


def test_a_failing_round_of_a_monitor_in_a_paused_group_opens_no_incident(api):
    group = make_group(api, paused=True)
    monitor = make_monitor(api, group, confirmation_period=0)["id"]
    verdict = Verdict(kind=RoundVerdict.DOWN, down_regions=("us", "eu", "as"), cause="Status 503", status_code=503)

    apply_verdict(monitor_id=int(monitor), scheduled_at=timezone.now(), verdict=verdict, now=timezone.now())

    assert not Incident.objects.exists()
    assert Monitor.objects.get(pk=monitor).status == "paused"


def test_resuming_a_group_resumes_only_what_it_paused(api):
    group = make_group(api)
    by_group = make_monitor(api, group)["id"]
    by_itself = make_monitor(api, group, url="https://eleva.care/own", paused=True)["id"]

    api.patch(f"/api/v2/monitor-groups/{group}", {"paused": True})
    api.patch(f"/api/v2/monitor-groups/{group}", {"paused": False})

    resumed = Monitor.objects.get(pk=by_group)
    assert (resumed.paused_at, resumed.status, resumed.next_check_at) == (None, "pending", None)
    assert Monitor.objects.get(pk=by_itself).paused_at is not None
    # The next tick gives the resumed monitor a random first check, as for a new one.
    scheduler.tick(now=timezone.now(), publish=False)
    assert Monitor.objects.get(pk=by_group).next_check_at is not None


def test_a_monitor_created_in_or_moved_into_a_paused_group_is_paused_and_moved_out_resumes(api):
    paused_group = make_group(api, paused=True)
    created_inside = make_monitor(api, paused_group)
    outside = make_monitor(api, url="https://eleva.care/outside")["id"]

    moved_in = api.patch(f"/api/v2/monitors/{outside}", {"monitor_group_id": paused_group}).json()["data"]
    moved_out = api.patch(f"/api/v2/monitors/{outside}", {"monitor_group_id": None}).json()["data"]

    assert created_inside["attributes"]["status"] == "paused"
    assert moved_in["attributes"]["status"] == "paused"
    assert moved_out["attributes"]["status"] == "pending" and moved_out["attributes"]["paused_at"] is None


def test_resuming_a_member_of_a_paused_group_lifts_only_its_own_pause(api):
    group = make_group(api)
    monitor = make_monitor(api, group, paused=True)["id"]
    api.patch(f"/api/v2/monitor-groups/{group}", {"paused": True})

    still = api.patch(f"/api/v2/monitors/{monitor}", {"paused": False}).json()["data"]["attributes"]
    api.patch(f"/api/v2/monitor-groups/{group}", {"paused": False})

    assert still["status"] == "paused"
    assert Monitor.objects.get(pk=monitor).paused_at is None


def test_deleting_a_group_leaves_its_monitors_ungrouped_and_paused_as_they_were(api):
    group = make_group(api, paused=True)
    monitor = make_monitor(api, group)["id"]

    assert api.delete(f"/api/v2/monitor-groups/{group}").status_code == 204
    api.patch(f"/api/v2/monitors/{monitor}", {"pronounceable_name": "renamed"})

    left = Monitor.objects.get(pk=monitor)
    assert (left.monitor_group_id, left.paused_at is not None, left.paused_with_group) == (None, True, False)
    assert api.get(f"/api/v2/monitor-groups/{group}").status_code == 404


def test_pausing_a_heartbeat_group_keeps_its_overdue_heartbeats_from_paging(api):
    group = make_group(api, "heartbeat")
    member = make_heartbeat(api, group)["id"]
    now = timezone.now()
    Heartbeat.objects.filter(pk=member).update(status="up", last_ping_at=now, alert_after=now)

    api.patch(f"/api/v2/heartbeat-groups/{group}", {"paused": True})
    report = sweep(now=now + timedelta(hours=1))

    assert report.went_down == 0 and not Incident.objects.exists()
    assert Heartbeat.objects.get(pk=member).status == "paused"


def test_a_failure_ping_of_a_heartbeat_in_a_paused_group_pages_nobody(api, client):
    group = make_group(api, "heartbeat", paused=True)
    member = Heartbeat.objects.get(pk=make_heartbeat(api, group)["id"])

    answer = client.get(f"/api/v1/heartbeat/{member.token}/fail")

    assert answer.status_code == 200
    assert not Incident.objects.exists()
    assert member.pings.count() == 1


def test_resuming_a_heartbeat_group_makes_its_heartbeats_pending_until_they_ping(api):
    group = make_group(api, "heartbeat", paused=True)
    member = make_heartbeat(api, group)["id"]

    api.patch(f"/api/v2/heartbeat-groups/{group}", {"paused": False})

    resumed = Heartbeat.objects.get(pk=member)
    assert (resumed.status, resumed.paused_at, resumed.alert_after) == ("pending", None, None)
    assert HeartbeatGroup.objects.get(pk=group).paused_at is None


# --- the admin ---------------------------------------------------------------------------------


def test_the_admin_lists_and_filters_monitors_by_group(api, admin_client):
    group = make_group(api, name="Payments")
    make_monitor(api, group, pronounceable_name="In payments")
    make_monitor(api, url="https://eleva.care/x", pronounceable_name="Elsewhere")

    everything = admin_client.get("/admin/monitors/monitor/").content.decode()
    filtered = admin_client.get(f"/admin/monitors/monitor/?monitor_group__id__exact={group}").content.decode()

    assert "Payments" in everything
    assert "In payments" in filtered and "Elsewhere" not in filtered


def test_the_admin_lists_and_filters_heartbeats_by_group(api, admin_client):
    group = make_group(api, "heartbeat", name="Nightly jobs")
    make_heartbeat(api, group, name="In nightly")
    make_heartbeat(api, name="Elsewhere")

    filtered = admin_client.get(f"/admin/heartbeats/heartbeat/?heartbeat_group__id__exact={group}").content.decode()

    assert "In nightly" in filtered and "Elsewhere" not in filtered


def test_the_admin_pauses_a_group_and_its_monitors(api, admin_client):
    group = make_group(api)
    monitor = make_monitor(api, group)["id"]

    admin_client.post(
        "/admin/monitors/monitorgroup/", {"action": "pause_groups", "_selected_action": [group]}, follow=True
    )

    assert MonitorGroup.objects.get(pk=group).paused_at is not None
    assert Monitor.objects.get(pk=monitor).status == "paused"
