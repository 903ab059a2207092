"""Attribute fields several resources share: names, time zones, case-blind choices, day names.

The maintenance window's attributes are alerts.alertable_serializer's."""

import re

from rest_framework import serializers

from config.zones import known_zone_names

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# C0 and C1 controls, DEL, and Unicode's own line and paragraph separators.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class NameField(serializers.CharField):
    """A name that ends up on one line: an email subject, a page title, a log line.

    A CR or LF in a monitor's name used to be stored, and then every email alert for it
    failed (Django refuses a header with a line break: BadHeaderError), silently, long
    after the request that caused it. Refused here, where the client can still be told.
    """

    def to_internal_value(self, data: object) -> str:
        name: str = super().to_internal_value(data)
        found = CONTROL_CHARACTERS.search(name)
        if found:
            raise serializers.ValidationError(
                f"must not contain control characters such as line breaks (found U+{ord(found.group()):04X})"
            )
        return name


class TimeZoneField(serializers.CharField):
    """An IANA time zone name, e.g. ``Europe/Prague``."""

    def to_internal_value(self, data: object) -> str:
        name: str = super().to_internal_value(data)
        if name not in known_zone_names():
            raise serializers.ValidationError('must be an IANA time zone such as "Europe/Prague"')
        return name


class LowerCaseChoiceField(serializers.ChoiceField):
    """A choice accepted in any case and stored (and returned) lower-case."""

    def to_internal_value(self, data: object) -> str:
        value: str = super().to_internal_value(data.lower() if isinstance(data, str) else data)
        return value
