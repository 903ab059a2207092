"""docs/api.md timestamps: ISO 8601 in UTC with milliseconds, ``2026-11-28T06:17:46.000Z``."""

from datetime import UTC

from rest_framework import serializers


def format_timestamp(moment):
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TimestampField(serializers.DateTimeField):
    """A read-mostly datetime rendered in the contract's one format."""

    def to_representation(self, value):
        return format_timestamp(value)
