"""/api/v2/on-calls: calendars, who is on call, override events, the rotation and the feed.

Times in the requests are ISO 8601 as a client sends them. Rotations start in the past so
that "now" and the ``?date=`` instants fall on known shifts.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from ical.calendar_stream import IcsCalendarStream

from alerts.models import EscalationPolicy
from teams.models import Membership, OnCallCalendar, OnCallEvent, OnCallRotation

NOT_FOUND = {"errors": "Resource with provided ID was not found"}


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def people(team, django_user_model):
    def make(name, *, first="", last="", phone="", **membership):
        user = django_user_model.objects.create_user(name, email=f"{name}@eleva.care", first_name=first, last_name=last)
        Membership.objects.create(team=team, user=user, phone_number=phone, **membership)
        return user

    return make


@pytest.fixture
def ana_and_bo(people):
    return people("ana", first="Ana", last="Silva", phone="+420737123456"), people("bo", first="Bo")


def rotate(api, users, *, start, calendar="default", length=1, interval="day", **extra):
    body = {
        "users": [u.email for u in users],
        "rotation_length": length,
        "rotation_interval": interval,
        "start_rotations_at": iso(start),
        **extra,
    }
    response = api.post(f"/api/v2/on-calls/{calendar}/rotation", body)
    assert response.status_code in (200, 201), response.content
    return response


def on_call_emails(document):
    return [ref["meta"]["email"] for ref in document["data"]["relationships"]["on_call_users"]["data"]]


# --- calendars ---------------------------------------------------------------------------------


def test_every_team_has_a_default_calendar_naming_who_is_on_call_with_the_users_included(api, team, ana_and_bo):
    ana, _ = ana_and_bo
    rotate(api, [ana], start=timezone.now() - timedelta(hours=1))

    document = api.get("/api/v2/on-calls/default").json()

    data = document["data"]
    assert data["type"] == "on_call_calendar"
    assert data["attributes"]["default_calendar"] is True and data["attributes"]["name"] is None
    assert data["attributes"]["team_name"] == team.name
    assert data["relationships"]["on_call_users"]["data"] == [
        {"id": str(ana.pk), "type": "user", "meta": {"email": "ana@eleva.care"}}
    ]
    assert document["included"] == [
        {
            "id": str(ana.pk),
            "type": "user",
            "attributes": {
                "first_name": "Ana",
                "last_name": "Silva",
                "email": "ana@eleva.care",
                "phone_numbers": ["+420737123456"],
            },
        }
    ]
    assert api.get(f"/api/v2/on-calls/{data['id']}").json() == document


def test_the_list_has_the_default_calendar_first_and_is_paginated(api):
    for name in ("Tier 2", "Tier 3"):
        assert api.post("/api/v2/on-calls", {"name": name}).status_code == 201

    first = api.get("/api/v2/on-calls", {"per_page": 2}).json()
    second = api.get(first["pagination"]["next"]).json()

    names = [c["attributes"]["name"] for c in first["data"] + second["data"]]
    assert names == [None, "Tier 2", "Tier 3"]
    assert "included" in first and second["pagination"]["next"] is None


def test_a_calendar_is_created_renamed_and_deleted_but_the_default_one_stays(api):
    api.get("/api/v2/on-calls/default")
    created = api.post("/api/v2/on-calls", {"name": "Tier 2", "timezone": "Europe/Prague"})
    calendar_id = created.json()["data"]["id"]
    renamed = api.patch(f"/api/v2/on-calls/{calendar_id}", {"name": "Database"})

    assert created.status_code == 201
    assert created.json()["data"]["attributes"]["timezone"] == "Europe/Prague"
    assert renamed.json()["data"]["attributes"]["name"] == "Database"
    assert api.delete(f"/api/v2/on-calls/{calendar_id}").status_code == 204
    refused = api.delete("/api/v2/on-calls/default")
    assert refused.status_code == 409 and isinstance(refused.json()["errors"], str)
    assert OnCallCalendar.objects.filter(is_default=True).count() == 1


@pytest.mark.parametrize(
    "body, attribute",
    [({"timezone": "Mars/Olympus"}, "timezone"), ({"name": "x" * 201}, "name"), ({"colour": "red"}, "colour")],
)
def test_a_bad_calendar_is_a_422_naming_the_attribute(api, body, attribute):
    response = api.post("/api/v2/on-calls", body)

    assert response.status_code == 422
    assert attribute in response.json()["errors"]


def test_a_bad_date_is_a_400(api):
    response = api.get("/api/v2/on-calls/default", {"date": "next tuesday"})

    assert response.status_code == 400 and isinstance(response.json()["errors"], str)


# --- the rotation ------------------------------------------------------------------------------


def test_a_rotation_is_created_read_and_replaced(api, ana_and_bo):
    ana, bo = ana_and_bo
    start = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)

    created = rotate(api, [ana, bo], start=start, end_rotations_at="2027-03-27T08:00:00Z")
    replaced = rotate(api, [bo], start=start, interval="week", length=2)

    assert created.status_code == 201
    assert created.json() == {
        "users": ["ana@eleva.care", "bo@eleva.care"],
        "rotation_length": 1,
        "rotation_interval": "day",
        "start_rotations_at": "2026-03-27T08:00:00.000Z",
        "end_rotations_at": "2027-03-27T08:00:00.000Z",
    }
    assert replaced.status_code == 200
    assert api.get("/api/v2/on-calls/default/rotation").json() == replaced.json()
    assert replaced.json()["end_rotations_at"] is None
    assert OnCallRotation.objects.count() == 1


def test_rotation_period_is_accepted_for_rotation_interval(api, ana_and_bo):
    response = api.put(
        "/api/v2/on-calls/default/rotation",
        {
            "users": ["ana@eleva.care"],
            "rotation_length": 8,
            "rotation_period": "hour",
            "start_rotations_at": iso(timezone.now()),
        },
    )

    assert response.status_code == 201, response.content
    assert response.json()["rotation_interval"] == "hour"


@pytest.mark.parametrize(
    "changes, attribute",
    [
        ({"users": ["stranger@example.com"]}, "users"),
        ({"users": []}, "users"),
        ({"rotation_length": 0}, "rotation_length"),
        ({"rotation_interval": "month"}, "rotation_interval"),
        ({"rotation_period": "fortnight"}, "rotation_period"),
        ({"end_rotations_at": "2020-01-01T00:00:00Z"}, "end_rotations_at"),
        ({"start_rotations_at": "soon"}, "start_rotations_at"),
        ({"handover": "09:00"}, "handover"),
    ],
)
def test_a_bad_rotation_is_a_422_naming_the_attribute_and_keeps_the_old_one(api, ana_and_bo, changes, attribute):
    rotate(api, [ana_and_bo[0]], start=datetime(2026, 3, 27, 8, tzinfo=UTC))
    body = {
        "users": ["ana@eleva.care"],
        "rotation_length": 1,
        "rotation_interval": "day",
        "start_rotations_at": "2026-03-27T08:00:00Z",
        **changes,
    }

    response = api.post("/api/v2/on-calls/default/rotation", body)

    assert response.status_code == 422
    assert attribute in response.json()["errors"]
    assert OnCallRotation.objects.get().user_ids == [ana_and_bo[0].pk]


def test_a_member_of_another_team_cannot_join_the_rotation(api, other_team, django_user_model):
    outsider = django_user_model.objects.create_user("eve", email="eve@elsewhere.example")
    Membership.objects.create(team=other_team, user=outsider)

    response = api.post(
        "/api/v2/on-calls/default/rotation",
        {
            "users": ["eve@elsewhere.example"],
            "rotation_length": 1,
            "rotation_interval": "week",
            "start_rotations_at": "2026-03-27T08:00:00Z",
        },
    )

    assert response.status_code == 422 and "users" in response.json()["errors"]


def test_a_deleted_rotation_is_gone(api, ana_and_bo):
    rotate(api, [ana_and_bo[0]], start=timezone.now())

    assert api.delete("/api/v2/on-calls/default/rotation").status_code == 204
    assert api.get("/api/v2/on-calls/default/rotation").json() == NOT_FOUND


def test_a_daily_rotation_crossing_the_spring_dst_change_hands_over_at_local_nine(api, ana_and_bo):
    ana, bo = ana_and_bo
    api.patch("/api/v2/on-calls/default", {"timezone": "Europe/Prague"})
    rotate(api, [ana, bo], start=datetime(2026, 3, 27, 8, 0, tzinfo=UTC))  # 09:00 CET

    def on_call(at):
        return on_call_emails(api.get("/api/v2/on-calls/default", {"date": at}).json())

    assert on_call("2026-03-28T07:59:00Z") == ["ana@eleva.care"]
    assert on_call("2026-03-28T08:00:00Z") == ["bo@eleva.care"]
    # 09:00 CEST on the 29th is 07:00Z: a 24-hour count would still say bo until 08:00Z.
    assert on_call("2026-03-29T06:59:00Z") == ["bo@eleva.care"]
    assert on_call("2026-03-29T07:30:00Z") == ["ana@eleva.care"]
    assert on_call("2026-03-29") == ["bo@eleva.care"]  # a day means its 00:00 in the calendar's zone


# --- override events ---------------------------------------------------------------------------


def test_an_override_event_changes_who_is_on_call_while_it_lasts(api, ana_and_bo, people):
    ana, bo = ana_and_bo
    carol = people("carol")
    now = timezone.now()
    rotate(api, [ana, bo], start=now - timedelta(hours=1), interval="week")

    created = api.post(
        "/api/v2/on-calls/default/events",
        {
            "users": ["carol@eleva.care"],
            "starts_at": iso(now - timedelta(minutes=1)),
            "ends_at": iso(now + timedelta(hours=2)),
        },
    )
    during = on_call_emails(api.get("/api/v2/on-calls/default").json())
    after = on_call_emails(api.get("/api/v2/on-calls/default", {"date": iso(now + timedelta(hours=3))}).json())

    assert created.status_code == 201, created.content
    event = created.json()
    assert event["users"] == ["carol@eleva.care"] and event["override"] is True
    assert during == [carol.email]
    assert after == [ana.email]


def test_events_are_listed_read_changed_and_deleted(api, ana_and_bo):
    now = timezone.now().replace(microsecond=0)
    ids = [
        api.post(
            "/api/v2/on-calls/default/events",
            {
                "users": ["ana@eleva.care"],
                "starts_at": iso(now + timedelta(days=n)),
                "ends_at": iso(now + timedelta(days=n, hours=8)),
            },
        ).json()["id"]
        for n in range(3)
    ]

    listed = api.get("/api/v2/on-calls/default/events").json()
    one = api.get(f"/api/v2/on-calls/default/events/{ids[1]}").json()
    changed = api.patch(f"/api/v2/on-calls/default/events/{ids[1]}", {"users": ["bo@eleva.care"]}).json()
    deleted = api.delete(f"/api/v2/on-calls/default/events/{ids[2]}")

    assert [e["id"] for e in listed["events"]] == ids
    assert set(listed) == {"events", "pagination"}
    assert one == listed["events"][1]
    assert changed["users"] == ["bo@eleva.care"] and changed["starts_at"] == one["starts_at"]
    assert deleted.status_code == 204
    assert api.get(f"/api/v2/on-calls/default/events/{ids[2]}").json() == NOT_FOUND
    assert OnCallEvent.objects.count() == 2


@pytest.mark.parametrize(
    "changes, attribute",
    [
        ({"starts_at": "2020-01-01T00:00:00Z"}, "starts_at"),
        ({"ends_at": "START"}, "ends_at"),
        ({"users": ["nobody@eleva.care"]}, "users"),
        ({"users": "ana@eleva.care"}, "users"),
        ({"ends_at": None}, "ends_at"),
        ({"note": "covering"}, "note"),
    ],
)
def test_a_bad_event_is_a_422_naming_the_attribute(api, ana_and_bo, changes, attribute):
    start = timezone.now() + timedelta(hours=1)
    body = {"users": ["ana@eleva.care"], "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1))}
    body.update({k: (body["starts_at"] if v == "START" else v) for k, v in changes.items()})

    response = api.post("/api/v2/on-calls/default/events", body)

    assert response.status_code == 422, response.content
    assert attribute in response.json()["errors"]
    assert not OnCallEvent.objects.exists()


def test_the_event_list_is_paginated(api, ana_and_bo):
    start = timezone.now() + timedelta(hours=1)
    for n in range(3):
        api.post(
            "/api/v2/on-calls/default/events",
            {
                "users": ["ana@eleva.care"],
                "starts_at": iso(start + timedelta(days=n)),
                "ends_at": iso(start + timedelta(days=n, hours=1)),
            },
        )

    page = api.get("/api/v2/on-calls/default/events", {"per_page": 2}).json()

    assert len(page["events"]) == 2 and page["pagination"]["next"].endswith("page=2")


# --- tenancy -----------------------------------------------------------------------------------


def test_another_teams_calendar_and_its_parts_are_not_found(api, other_api, other_team, django_user_model):
    theirs = other_api.post("/api/v2/on-calls", {"name": "Theirs"}).json()["data"]["id"]
    eve = django_user_model.objects.create_user("eve", email="eve@elsewhere.example")
    Membership.objects.create(team=other_team, user=eve)
    start = timezone.now() + timedelta(hours=1)
    event = other_api.post(
        f"/api/v2/on-calls/{theirs}/events",
        {"users": [eve.email], "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1))},
    ).json()["id"]

    answers = [
        api.get(f"/api/v2/on-calls/{theirs}"),
        api.patch(f"/api/v2/on-calls/{theirs}", {"name": "Mine"}),
        api.delete(f"/api/v2/on-calls/{theirs}"),
        api.get(f"/api/v2/on-calls/{theirs}/events"),
        api.get(f"/api/v2/on-calls/{theirs}/rotation"),
        api.delete(f"/api/v2/on-calls/{theirs}/events/{event}"),
        api.get(f"/api/v2/on-calls/default/events/{event}"),  # their event under our calendar
        api.delete(f"/api/v2/on-calls/default/events/{event}"),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(404, NOT_FOUND)] * len(answers)
    assert OnCallEvent.objects.filter(pk=event).exists()
    assert [c["attributes"]["name"] for c in api.get("/api/v2/on-calls").json()["data"]] == [None]


def test_defaults_are_per_team(api, other_api):
    mine = api.get("/api/v2/on-calls/default").json()["data"]["id"]
    theirs = other_api.get("/api/v2/on-calls/default").json()["data"]["id"]

    assert mine != theirs
    assert api.get(f"/api/v2/on-calls/{theirs}").status_code == 404


# --- policies and the feed ---------------------------------------------------------------------


def test_a_policy_step_may_page_the_on_call_person_of_a_named_calendar_of_the_team(api, other_api):
    mine = api.post("/api/v2/on-calls", {"name": "Tier 2"}).json()["data"]["id"]
    theirs = other_api.post("/api/v2/on-calls", {"name": "Theirs"}).json()["data"]["id"]
    step = {"type": "escalation", "wait_before": 0, "step_members": [{"type": "current_on_call", "id": mine}]}

    accepted = api.post("/api/v3/policies", {"name": "Tier 2", "steps": [step]})
    refused = api.post(
        "/api/v3/policies",
        {"name": "x", "steps": [{**step, "step_members": [{"type": "current_on_call", "id": theirs}]}]},
    )

    assert accepted.status_code == 201 and accepted.json()["data"]["attributes"]["steps"] == [step]
    assert refused.status_code == 422 and "steps" in refused.json()["errors"]
    assert EscalationPolicy.objects.count() == 1


def test_the_calendar_feed_is_valid_icalendar_naming_who_is_on_call(api, client, ana_and_bo, people):
    ana, bo = ana_and_bo
    carol = people("carol", first="Carol", last="Tanaka, Jr.")
    now = timezone.now()
    rotate(api, [ana, bo], start=now - timedelta(days=3), interval="week")
    api.post(
        "/api/v2/on-calls/default/events",
        {"users": [carol.email], "starts_at": iso(now + timedelta(hours=1)), "ends_at": iso(now + timedelta(hours=5))},
    )
    url = api.get("/api/v2/on-calls/default").json()["data"]["attributes"]["ical_url"]

    response = client.get(url.replace("https://pharos.example.com", ""))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode()
    assert all(line.endswith("\r") or line == "" for line in text.split("\n"))
    calendar = IcsCalendarStream.calendar_from_ics(text)  # strict RFC 5545 parsing
    summaries = [event.summary for event in calendar.events]
    assert "On call: Ana Silva" in summaries and "On call: Carol Tanaka, Jr." in summaries
    override = next(e for e in calendar.events if e.summary == "On call: Carol Tanaka, Jr.")
    assert override.dtend - override.dtstart == timedelta(hours=4)
    assert len({event.uid for event in calendar.events}) == len(calendar.events)


def test_an_unknown_feed_token_is_a_404(client, db):
    assert client.get("/on-call/" + "x" * 32 + ".ics").status_code == 404
