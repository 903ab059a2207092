"""teams.oncall: an override event, else the rotation, else the team's fallback."""

from datetime import UTC, datetime, timedelta

import pytest

from teams.models import Membership, OnCallCalendar, OnCallEvent, OnCallRotation
from teams.oncall import EVENT, FALLBACK, NOBODY, ROTATION, default_calendar, on_call_at, schedule

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def people(team, django_user_model):
    def make(name, **membership):
        user = django_user_model.objects.create_user(name, email=f"{name}@example.com")
        Membership.objects.create(team=team, user=user, **membership)
        return user

    return make


@pytest.fixture
def calendar(team):
    return OnCallCalendar.objects.create(team=team, is_default=True)


def weekly(calendar, *users, start=T0, end=None):
    return OnCallRotation.objects.create(
        calendar=calendar,
        user_ids=[u.pk for u in users],
        rotation_interval="week",
        start_rotations_at=start,
        end_rotations_at=end,
    )


def ask(team, at, **kwargs):
    return on_call_at(team.pk, at=at, **kwargs)


def test_the_rotation_names_whoever_has_the_shift(team, people, calendar):
    ana, bo = people("ana"), people("bo")
    weekly(calendar, ana, bo)

    assert ask(team, T0 + 2 * D).user_ids == (ana.pk,)
    assert ask(team, T0 + 8 * D).user_ids == (bo.pk,)
    assert ask(team, T0 + 15 * D).user_ids == (ana.pk,)
    assert ask(team, T0 + 8 * D).source == ROTATION


def test_an_override_event_beats_the_rotation_while_it_lasts(team, people, calendar):
    ana, bo, carol = people("ana"), people("bo"), people("carol")
    weekly(calendar, ana, bo)
    OnCallEvent.objects.create(calendar=calendar, user_ids=[carol.pk], starts_at=T0 + D, ends_at=T0 + D + 4 * H)

    assert ask(team, T0 + D + H) == ask(team, T0 + D + 3 * H)
    assert ask(team, T0 + D + H).user_ids == (carol.pk,) and ask(team, T0 + D + H).source == EVENT
    assert ask(team, T0 + D + 4 * H).user_ids == (ana.pk,)


def test_overlapping_events_name_everyone_they_cover(team, people, calendar):
    ana, bo = people("ana"), people("bo")
    OnCallEvent.objects.create(calendar=calendar, user_ids=[ana.pk], starts_at=T0, ends_at=T0 + 2 * H)
    OnCallEvent.objects.create(calendar=calendar, user_ids=[bo.pk], starts_at=T0 + H, ends_at=T0 + 3 * H)

    assert ask(team, T0 + 90 * timedelta(minutes=1)).user_ids == (ana.pk, bo.pk)


def test_with_no_event_or_rotation_the_member_marked_on_call_is_the_fallback(team, people, calendar):
    people("admin", role="admin")
    marked = people("marked", on_call=True)

    assert ask(team, T0) == type(ask(team, T0))((marked.pk,), FALLBACK)


def test_without_a_marked_member_the_first_admin_is_the_fallback(team, people):
    people("member")
    first = people("first", role="admin")
    people("second", role="admin")

    answer = ask(team, T0)

    assert (answer.user_ids, answer.source) == ((first.pk,), FALLBACK)


def test_a_team_with_no_fallback_has_nobody_on_call(team, people):
    people("member")

    assert ask(team, T0).source == NOBODY and ask(team, T0).user_ids == ()


def test_after_the_rotation_ends_the_fallback_takes_over(team, people, calendar):
    ana, admin = people("ana"), people("boss", role="admin")
    weekly(calendar, ana, end=T0 + 3 * D)

    assert ask(team, T0 + 2 * D).user_ids == (ana.pk,)
    assert ask(team, T0 + 3 * D).user_ids == (admin.pk,)


def test_someone_who_left_the_team_is_skipped_and_their_shift_falls_back(team, people, calendar):
    ana, bo, admin = people("ana"), people("bo"), people("boss", role="admin")
    weekly(calendar, ana, bo)
    OnCallEvent.objects.create(calendar=calendar, user_ids=[bo.pk], starts_at=T0, ends_at=T0 + D)
    Membership.objects.filter(user=bo).delete()

    assert ask(team, T0 + H).user_ids == (ana.pk,)  # bo's event falls through to ana's shift
    assert ask(team, T0 + 8 * D).user_ids == (admin.pk,)  # bo's shift falls back


def test_another_calendar_is_asked_by_its_id(team, people, calendar):
    ana, bo = people("ana"), people("bo")
    weekly(calendar, ana)
    tier_two = OnCallCalendar.objects.create(team=team, name="Tier 2")
    weekly(tier_two, bo)

    assert ask(team, T0 + H).user_ids == (ana.pk,)
    assert ask(team, T0 + H, calendar_id=tier_two.pk).user_ids == (bo.pk,)


def test_a_calendar_that_no_longer_exists_falls_back_to_the_default_one(team, people, calendar):
    ana = people("ana")
    weekly(calendar, ana)
    gone = OnCallCalendar.objects.create(team=team, name="Gone")
    gone_id = gone.pk
    gone.delete()

    assert ask(team, T0 + H, calendar_id=gone_id).user_ids == (ana.pk,)


def test_the_default_calendar_is_made_once(team):
    first = default_calendar(team)

    assert default_calendar(team).pk == first.pk
    assert OnCallCalendar.objects.filter(team=team).count() == 1


def test_the_schedule_cuts_a_window_where_the_answer_changes(team, people, calendar):
    ana, bo, carol = people("ana"), people("bo"), people("carol")
    weekly(calendar, ana, bo)
    OnCallEvent.objects.create(calendar=calendar, user_ids=[carol.pk], starts_at=T0 + D, ends_at=T0 + 2 * D)

    segments = schedule(calendar, begin=T0, end=T0 + 10 * D)

    assert [(s.starts_at, s.ends_at, s.on_call.user_ids, s.on_call.source) for s in segments] == [
        (T0, T0 + D, (ana.pk,), ROTATION),
        (T0 + D, T0 + 2 * D, (carol.pk,), EVENT),
        (T0 + 2 * D, T0 + 7 * D, (ana.pk,), ROTATION),
        (T0 + 7 * D, T0 + 10 * D, (bo.pk,), ROTATION),
    ]
