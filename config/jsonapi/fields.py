"""Attribute fields several resources share: time zones, case-blind choices, day names.

The maintenance window's attributes are alerts.alertable_serializer's."""

from rest_framework import serializers

from config.zones import known_zone_names

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
