"""The on-call resources in Better Stack's shapes.

* ``on_call_calendar`` — an envelope resource whose ``relationships.on_call_users`` names
  who is on call now (or at ``?date=``), with those users in the document's ``included``.
* events and the rotation are bare JSON objects, as Better Stack's calendar endpoints
  answer them: ``{"events": [...]}``, ``{"id", "users", "starts_at", "ends_at", "override"}``
  and ``{"users", "rotation_length", "rotation_interval", "start_rotations_at",
  "end_rotations_at"}``. Users are named by email address, and must be team members.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from config.jsonapi.fields import TimeZoneField
from config.jsonapi.serializers import AttributesSerializer, StrictSerializer
from config.jsonapi.timestamps import TimestampField, format_timestamp
from teams.models import OnCallCalendar, OnCallEvent, OnCallRotation, RotationInterval
from teams.oncall import OnCall

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Team members by user id, as the on-call answers name them.
Users = Mapping[int, "User"]

MAX_USERS = 100
# Longer than any rotation period anyone plans; keeps an event's arithmetic bounded.
MAX_EVENT_DAYS = 366


class CalendarSerializer(AttributesSerializer):
    """An on-call calendar's attributes; ``timezone`` and ``ical_url`` are Pharos additions."""

    resource_type = "on_call_calendar"

    name = serializers.CharField(max_length=200, allow_blank=True, allow_null=True, required=False)
    default_calendar = serializers.BooleanField(source="is_default", read_only=True)
    timezone = TimeZoneField(max_length=64, required=False)
    ical_url = serializers.CharField(source="feed_url", read_only=True)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def validate_name(self, name: str | None) -> str:
        return name or ""

    def to_representation(self, calendar: OnCallCalendar) -> dict[str, Any]:
        data = super().to_representation(calendar)
        data["name"] = calendar.name or None
        return data

    def create(self, validated: dict[str, Any]) -> OnCallCalendar:
        return OnCallCalendar.objects.create(team=self.team, **validated)

    def update(self, calendar: OnCallCalendar, validated: dict[str, Any]) -> OnCallCalendar:
        for name, value in validated.items():
            setattr(calendar, name, value)
        calendar.save(update_fields=[*validated, "updated_at"])
        return calendar

    def as_calendar(self, calendar: OnCallCalendar, on_call: OnCall, users: Users) -> dict[str, Any]:
        resource = self.as_resource(calendar)
        resource["relationships"] = {
            "on_call_users": {
                "data": [
                    {"id": str(uid), "type": "user", "meta": {"email": users[uid].email}}
                    for uid in on_call.user_ids
                    if uid in users
                ]
            }
        }
        return resource


def included_users(user_ids: Iterable[int], users: Users, phones: Mapping[int, str | None]) -> list[dict[str, Any]]:
    """The ``included`` entries for these users, once each."""
    seen: set[int] = set()
    found: list[dict[str, Any]] = []
    for uid in user_ids:
        if uid in users and uid not in seen:
            seen.add(uid)
            user = users[uid]
            found.append(
                {
                    "id": str(uid),
                    "type": "user",
                    "attributes": {
                        "first_name": user.first_name or None,
                        "last_name": user.last_name or None,
                        "email": user.email,
                        "phone_numbers": [phones[uid]] if phones.get(uid) else [],
                    },
                }
            )
    return found


class MemberEmailsField(serializers.ListField):
    """Team members by email address, in order; each must belong to the team."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.EmailField(max_length=254), min_length=1, max_length=MAX_USERS, **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        emails = super().to_internal_value(data)
        team = self.parent.context["team"]
        found: dict[str, int] = {}
        for user_id, email in (
            get_user_model().objects.filter(memberships__team=team).order_by("id").values_list("id", "email")
        ):
            if email:
                found.setdefault(email.lower(), user_id)
        missing = [email for email in emails if email.lower() not in found]
        if missing:
            raise serializers.ValidationError(f"{', '.join(missing)}: not a member of this team")
        return [found[email.lower()] for email in emails]


def emails_of(user_ids: Iterable[int], users: Users) -> list[str]:
    return [users[uid].email for uid in user_ids if uid in users]


class EventSerializer(StrictSerializer):
    """An override event: ``users`` are on call from ``starts_at`` until ``ends_at``."""

    id = serializers.CharField(read_only=True)
    users = MemberEmailsField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    override = serializers.BooleanField(read_only=True, default=True)

    def validate_starts_at(self, starts_at: datetime) -> datetime:
        # Better Stack's rule: no event may start before today 00:00 UTC.
        today = datetime.combine(timezone.now().astimezone(UTC).date(), time.min, tzinfo=UTC)
        if starts_at < today:
            raise serializers.ValidationError("must be today at 00:00 UTC or later")
        return starts_at

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts_at = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends_at = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts_at is not None and ends_at is not None:
            if ends_at <= starts_at:
                raise serializers.ValidationError({"ends_at": ["must be after starts_at"]})
            if (ends_at - starts_at).days >= MAX_EVENT_DAYS:
                raise serializers.ValidationError({"ends_at": [f"must be within {MAX_EVENT_DAYS} days of starts_at"]})
        return attrs

    def represent(self, event: OnCallEvent, users: Users) -> dict[str, Any]:
        return {
            "id": str(event.pk),
            "users": emails_of(event.user_ids, users),
            "starts_at": format_timestamp(event.starts_at),
            "ends_at": format_timestamp(event.ends_at),
            "override": True,
        }


class RotationSerializer(StrictSerializer):
    """A rotation: ``users`` take turns, each on call for ``rotation_length`` × ``rotation_interval``.

    Better Stack's documents name the interval both ``rotation_interval`` and
    ``rotation_period``; either is accepted, ``rotation_interval`` is returned.
    """

    users = MemberEmailsField()
    rotation_length = serializers.IntegerField(min_value=1, max_value=10_000)
    rotation_interval = serializers.ChoiceField(choices=RotationInterval.values, required=False)
    # A plain string in the schema: a second enum of the same choices would be a second name for them.
    rotation_period = serializers.CharField(
        required=False, write_only=True, max_length=8, help_text="The same as rotation_interval: hour, day or week."
    )
    start_rotations_at = serializers.DateTimeField()
    end_rotations_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        interval, period = attrs.pop("rotation_interval", None), attrs.pop("rotation_period", None)
        if period is not None and period not in RotationInterval.values:
            raise serializers.ValidationError({"rotation_period": [f'"{period}" is not a valid choice.']})
        if interval and period and interval != period:
            raise serializers.ValidationError({"rotation_period": ["must match rotation_interval when both are given"]})
        if not (interval or period):
            raise serializers.ValidationError({"rotation_interval": ["This field is required."]})
        attrs["rotation_interval"] = interval or period
        end = attrs.get("end_rotations_at")
        if end is not None and end <= attrs["start_rotations_at"]:
            raise serializers.ValidationError({"end_rotations_at": ["must be after start_rotations_at"]})
        return attrs

    @staticmethod
    def represent(rotation: OnCallRotation, users: Users) -> dict[str, Any]:
        return {
            "users": emails_of(rotation.user_ids, users),
            "rotation_length": rotation.rotation_length,
            "rotation_interval": rotation.rotation_interval,
            "start_rotations_at": format_timestamp(rotation.start_rotations_at),
            "end_rotations_at": format_timestamp(rotation.end_rotations_at),
        }


class RotationOutSerializer(serializers.Serializer):
    """Schema only: the rotation as answered."""

    users = serializers.ListField(child=serializers.EmailField())
    rotation_length = serializers.IntegerField()
    rotation_interval = serializers.ChoiceField(choices=RotationInterval.values)
    start_rotations_at = serializers.CharField()
    end_rotations_at = serializers.CharField(allow_null=True)
