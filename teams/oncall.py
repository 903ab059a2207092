"""Who is on call: the one answer escalation, the API, the iCalendar feed and the admin ask.

At an instant ``t`` a calendar names, in this order:

1. the members of every override event covering ``t`` (``starts_at <= t < ends_at``), else
2. the member whose rotation shift covers ``t`` (teams.rotation, in the calendar's zone), else
3. the team's fallback: the member marked on call by hand, else the team's first admin.

Someone who has left the team is skipped wherever they are named, so their event or shift
falls through to the next rule. A team with no calendar at all has only its fallback; a
team with no fallback has nobody, and escalation then alerts the whole team.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from django.db import IntegrityError, transaction

from config.zones import zone_or_none
from teams import rotation as rotations
from teams.models import Membership, OnCallCalendar, OnCallEvent, OnCallRotation, Role, Team

EVENT, ROTATION, FALLBACK, NOBODY = "event", "rotation", "fallback", "nobody"
# A schedule window is cut into at most this many pieces (an hourly rotation over 90 days is 2,160).
MAX_SEGMENTS = 5_000


@dataclass(frozen=True)
class OnCall:
    user_ids: tuple[int, ...]
    source: str  # EVENT, ROTATION, FALLBACK or NOBODY


@dataclass(frozen=True)
class Segment:
    starts_at: datetime
    ends_at: datetime
    on_call: OnCall


class Roster:
    """The team's members in the order they joined, and its fallback."""

    def __init__(self, memberships: Iterable[Membership]):
        self.memberships = sorted(memberships, key=lambda m: (m.created_at, m.pk))
        self.member_ids = {m.user_id for m in self.memberships}
        flagged = [m.user_id for m in self.memberships if m.on_call]
        admins = [m.user_id for m in self.memberships if m.role == Role.ADMIN]
        self.fallback = tuple(flagged[:1] or admins[:1])

    @classmethod
    def of(cls, team_id: int) -> "Roster":
        return cls(Membership.objects.filter(team_id=team_id).select_related("user"))

    def members(self, user_ids: Iterable[int]) -> tuple[int, ...]:
        return tuple(dict.fromkeys(uid for uid in user_ids if uid in self.member_ids))


def calendar_zone(calendar: OnCallCalendar) -> tzinfo:
    return zone_or_none(calendar.timezone) or UTC


def rotation_of(calendar: OnCallCalendar | None) -> OnCallRotation | None:
    if calendar is None:
        return None
    try:
        return calendar.rotation
    except OnCallRotation.DoesNotExist:
        return None


def on_duty(*, at: datetime, calendar: OnCallCalendar | None, events: Sequence[OnCallEvent], roster: Roster) -> OnCall:
    """Rules 1–3 for one instant, from rows already read (``events`` may hold others too)."""
    covering = [event for event in events if event.starts_at <= at < event.ends_at]
    people = roster.members(uid for event in covering for uid in event.user_ids)
    if people:
        return OnCall(people, EVENT)
    rotation = rotation_of(calendar)
    if calendar is not None and rotation is not None and rotation.user_ids:
        if rotation.end_rotations_at is None or at < rotation.end_rotations_at:
            shift = rotations.shift_at(
                at,
                start=rotation.start_rotations_at,
                length=rotation.rotation_length,
                interval=rotation.rotation_interval,
                zone=calendar_zone(calendar),
            )
            if shift is not None:
                people = roster.members([rotation.user_ids[shift % len(rotation.user_ids)]])
                if people:
                    return OnCall(people, ROTATION)
    if roster.fallback:
        return OnCall(roster.fallback, FALLBACK)
    return OnCall((), NOBODY)


def calendars_of(team_id: int) -> "list[OnCallCalendar]":
    return list(OnCallCalendar.objects.filter(team_id=team_id).select_related("rotation"))


def find_calendar(team_id: int, calendar_id: int | None = None) -> OnCallCalendar | None:
    """The team's calendar ``calendar_id`` (default calendar when None), with its rotation."""
    calendars = OnCallCalendar.objects.filter(team_id=team_id).select_related("rotation")
    if calendar_id is None:
        return calendars.filter(is_default=True).first()
    return calendars.filter(pk=calendar_id).first()


def on_call_at(team_id: int, *, at: datetime, calendar_id: int | None = None, roster: Roster | None = None) -> OnCall:
    """Who the team's calendar (its default one unless ``calendar_id``) names at ``at``.

    A ``calendar_id`` that names no calendar of the team (deleted since a policy named it)
    asks the default calendar instead.
    """
    calendar = find_calendar(team_id, calendar_id)
    if calendar is None and calendar_id is not None:
        calendar = find_calendar(team_id)
    events = list(calendar.events.filter(ends_at__gt=at, starts_at__lte=at)) if calendar is not None else []
    return on_duty(at=at, calendar=calendar, events=events, roster=roster or Roster.of(team_id))


def on_call_now_of(calendars: Sequence[OnCallCalendar], *, at: datetime, roster: Roster) -> dict[int, OnCall]:
    """``on_call_at`` for several calendars of one team in one query for their events."""
    events: dict[int, list[OnCallEvent]] = {c.pk: [] for c in calendars}
    for event in OnCallEvent.objects.filter(calendar__in=calendars, ends_at__gt=at, starts_at__lte=at):
        events[event.calendar_id].append(event)
    return {c.pk: on_duty(at=at, calendar=c, events=events[c.pk], roster=roster) for c in calendars}


def default_calendar(team: Team) -> OnCallCalendar:
    """The team's default calendar, made on first use."""
    found = OnCallCalendar.objects.filter(team=team, is_default=True).select_related("rotation").first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return OnCallCalendar.objects.create(team=team, is_default=True)
    except IntegrityError:
        # Another request made it first (calendar_one_default_per_team): use theirs.
        return OnCallCalendar.objects.select_related("rotation").get(team=team, is_default=True)


def schedule(
    calendar: OnCallCalendar, *, begin: datetime, end: datetime, roster: Roster | None = None
) -> list[Segment]:
    """Who is on call from ``begin`` to ``end``, as consecutive segments of one answer each.

    The answer changes only where an event starts or ends or a shift hands over, so it is
    read at those instants and adjacent equal answers are merged. Segments with nobody
    on call are left out.
    """
    roster = roster or Roster.of(calendar.team_id)
    events = list(calendar.events.filter(ends_at__gt=begin, starts_at__lt=end))
    cuts = {begin, end}
    for event in events:
        cuts.update(moment for moment in (event.starts_at, event.ends_at) if begin < moment < end)
    rotation = rotation_of(calendar)
    if rotation is not None:
        cuts.update(
            rotations.handovers_between(
                begin,
                end,
                start=rotation.start_rotations_at,
                length=rotation.rotation_length,
                interval=rotation.rotation_interval,
                zone=calendar_zone(calendar),
                limit=MAX_SEGMENTS,
            )
        )
        if rotation.end_rotations_at is not None and begin < rotation.end_rotations_at < end:
            cuts.add(rotation.end_rotations_at)
    instants = sorted(cuts)[: MAX_SEGMENTS + 1]
    segments: list[Segment] = []
    for start, finish in zip(instants, instants[1:], strict=False):
        answer = on_duty(at=start, calendar=calendar, events=events, roster=roster)
        if segments and segments[-1].on_call == answer and segments[-1].ends_at == start:
            segments[-1] = Segment(segments[-1].starts_at, finish, answer)
        else:
            segments.append(Segment(start, finish, answer))
    return [segment for segment in segments if segment.on_call.user_ids]
