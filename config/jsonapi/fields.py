"""Attribute fields several resources share: names, time zones, case-blind choices, maintenance windows."""

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

    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        found = CONTROL_CHARACTERS.search(name)
        if found:
            raise serializers.ValidationError(
                f"must not contain control characters such as line breaks (found U+{ord(found.group()):04X})"
            )
        return name


class TimeZoneField(serializers.CharField):
    """An IANA time zone name, e.g. ``Europe/Prague``."""

    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        if name not in known_zone_names():
            raise serializers.ValidationError('must be an IANA time zone such as "Europe/Prague"')
        return name


class LowerCaseChoiceField(serializers.ChoiceField):
    """A choice accepted in any case and stored (and returned) lower-case."""

    def to_internal_value(self, data):
        return super().to_internal_value(data.lower() if isinstance(data, str) else data)


class MaintenanceWindowSerializer(serializers.Serializer):
    """Better Stack's weekly window: days, local from/to, and the zone they are read in."""

    maintenance_days = serializers.ListField(
        child=serializers.ChoiceField(choices=DAY_NAMES), required=False, max_length=7
    )
    maintenance_from = serializers.TimeField(allow_null=True, required=False, format="%H:%M:%S")
    maintenance_to = serializers.TimeField(allow_null=True, required=False, format="%H:%M:%S")
    maintenance_timezone = TimeZoneField(max_length=64, required=False)

    def get_fields(self):
        # Declared on a base class, these would lead the attributes; docs/api.md lists them just
        # before ``paused``, so that is where they go.
        fields = super().get_fields()
        window = {name: fields.pop(name) for name in list(MaintenanceWindowSerializer._declared_fields)}
        if "paused" not in fields:
            return {**fields, **window}
        ordered = {}
        for name, field in fields.items():
            if name == "paused":
                ordered.update(window)
            ordered[name] = field
        return ordered

    def validate_maintenance_days(self, days):
        return list(dict.fromkeys(days))

    def maintenance_errors(self, attrs):
        """Errors of the window as it will be after this write (``current`` is the resource's)."""
        has_from = self.current(attrs, "maintenance_from", None) is not None
        has_to = self.current(attrs, "maintenance_to", None) is not None
        if has_from == has_to:
            return {}
        return {
            "maintenance_to" if has_from else "maintenance_from": [
                "is required when the other end of the window is set"
            ]
        }
