"""docs/api.md timestamps: ISO 8601 in UTC with milliseconds, ``2026-11-28T06:17:46.000Z``."""

from datetime import UTC, datetime
from typing import overload

from rest_framework import serializers


@overload
def format_timestamp(moment: datetime) -> str: ...
@overload
def format_timestamp(moment: None) -> None: ...
def format_timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TimestampField(serializers.DateTimeField):
    """A read-mostly datetime rendered in the contract's one format."""

    def to_representation(self, value: datetime | None) -> str | None:
        return format_timestamp(value)
