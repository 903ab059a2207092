"""An on-call calendar as an RFC 5545 iCalendar feed, for calendar apps to subscribe to.

One VEVENT per stretch of time with one answer to "who is on call" (teams.oncall.schedule),
from a week back to a quarter ahead. Times are UTC (``…Z``) so no VTIMEZONE is needed;
lines end in CRLF and are folded at 75 octets without splitting a UTF-8 character; text
values escape backslash, semicolon, comma and newline (RFC 5545 §3.1, §3.3.11).
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from teams.models import OnCallCalendar
from teams.oncall import EVENT, FALLBACK, ROTATION, Roster, Segment, schedule

PAST = timedelta(days=7)
AHEAD = timedelta(days=90)
SOURCE_NAMES = {EVENT: "override", ROTATION: "rotation", FALLBACK: "team fallback"}


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into 75-octet pieces joined by CRLF + space."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    pieces, start, limit = [], 0, 75
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:  # never inside a UTF-8 sequence
            end -= 1
        pieces.append(encoded[start:end].decode())
        start, limit = end, 74  # continuation lines start with one space
    return "\r\n ".join(pieces)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def render_feed(calendar: OnCallCalendar, *, now: datetime) -> str:
    roster = Roster.of(calendar.team_id)
    people = {m.user_id: m.user for m in roster.memberships}
    begin = now.replace(minute=0, second=0, microsecond=0) - PAST
    segments = schedule(calendar, begin=begin, end=begin + PAST + AHEAD, roster=roster)
    title = f"On call: {calendar.team.name}" + (f" – {calendar.name}" if calendar.name else "")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Pharos//On-call calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(title)}",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for segment in segments:
        lines.extend(_event_lines(calendar, segment, people, now=now))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def _event_lines(calendar: OnCallCalendar, segment: Segment, people: dict, *, now: datetime) -> Iterable[str]:
    users = [people[uid] for uid in segment.on_call.user_ids if uid in people]
    names = [user.get_full_name() or user.email or user.get_username() for user in users]
    emails = [user.email for user in users if user.email]
    # Stable while the stretch and its people stay the same; a change makes a new event.
    identity = f"{calendar.pk}:{stamp(segment.starts_at)}:{stamp(segment.ends_at)}:{segment.on_call.user_ids}"
    uid = hashlib.sha256(identity.encode()).hexdigest()[:32]
    source = SOURCE_NAMES.get(segment.on_call.source, segment.on_call.source)
    yield "BEGIN:VEVENT"
    yield f"UID:{uid}@pharos-on-call"
    yield f"DTSTAMP:{stamp(now)}"
    yield f"DTSTART:{stamp(segment.starts_at)}"
    yield f"DTEND:{stamp(segment.ends_at)}"
    yield f"SUMMARY:{escape_text('On call: ' + ', '.join(names))}"
    yield f"DESCRIPTION:{escape_text(f'From the {source}. Paged at: ' + ', '.join(emails))}"
    yield "TRANSP:TRANSPARENT"
    yield "END:VEVENT"
