"""The ``monitor`` resource of docs/api.md: attributes in Better Stack's names, validated per type.

Every rule that makes a monitor unrunnable is a 422 naming the attribute: the target per
monitor type (monitors.validation), a type outside the registry, regions that are not
configured, a frequency under ``PHAROS_MIN_CHECK_FREQUENCY``, a timeout outside its
type's range or above the frequency (monitors.types), a quorum larger than the regions, a
policy of another team, a team at ``PHAROS_TEAM_MAX_MONITORS``. Checks that involve several attributes run on the
values the monitor will have after the write, so a PATCH cannot sneak an inconsistent
combination past them.
"""

import re
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.alertable_serializer import AlertableSerializer
from alerts.source_groups import GroupMembers, GroupSerializer, member_pause
from config.jsonapi.fields import LowerCaseChoiceField, NameField
from config.jsonapi.serializers import (
    MAX_DB_INTEGER,
    IdField,
    RelationshipSerializer,
    StrictSerializer,
)
from config.jsonapi.timestamps import TimestampField
from monitors.models import Monitor, MonitorGroup, MonitorRequestHeader, MonitorStatus
from monitors.pausing import MONITOR_PAUSING
from monitors.types import (
    ALERT_DAYS,
    DEFAULT_PORTS,
    HTTP_METHODS,
    MONITOR_TYPES,
    REGISTRY,
    bounded_timeout,
    converted_timeout,
    timeout_error,
)
from monitors.validation import InvalidTarget, needs_keyword, needs_port, parse_ports, validate_target

# Named once for the OpenAPI document (ssl_expiration and domain_expiration share it).
ALERT_DAY_CHOICES = [(days, f"{days} days") for days in ALERT_DAYS]

HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


@extend_schema_field({"type": "string", "example": "25,465,587"})
class PortField(serializers.Field):
    """Ports as Better Stack spells them, ``"25,465,587"``; a bare number is accepted too."""

    def to_internal_value(self, data: object) -> str:
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            raise serializers.ValidationError('must be a string of ports such as "25,465,587"')
        try:
            return parse_ports(data)
        except InvalidTarget as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value: str) -> str | None:
        return value or None


class RequestHeaderSerializer(StrictSerializer):
    """``{name, value}`` adds, ``{id, name?, value?}`` updates, ``{id, "_destroy": true}`` deletes."""

    id = IdField(required=False)
    name = serializers.CharField(max_length=200, required=False)
    value = serializers.CharField(max_length=4000, allow_blank=True, required=False)
    _destroy = serializers.BooleanField(required=False, write_only=True)

    def validate_name(self, name: str) -> str:
        if not HEADER_NAME.match(name):
            raise serializers.ValidationError("is not a valid HTTP header name")
        return name

    def validate_value(self, value: str) -> str:
        if any(character in value for character in "\r\n\0"):
            raise serializers.ValidationError("must not contain line breaks")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "id" not in attrs and "name" not in attrs:
            raise serializers.ValidationError({"name": ["This field is required."]})
        return attrs


class MonitorSerializer(AlertableSerializer):
    """A monitor's attributes (docs/api.md, Monitors)."""

    # The alerting, maintenance and pause attributes are alerts.alertable_serializer's.

    resource_type = "monitor"
    pausing = MONITOR_PAUSING
    alerting_before = "monitor_group_id"

    url = serializers.CharField(max_length=2048)
    pronounceable_name = NameField(max_length=200, allow_blank=True, required=False)
    monitor_type = serializers.ChoiceField(
        choices=MONITOR_TYPES,
        required=False,
        error_messages={"invalid_choice": '"{input}" is not a known monitor type'},
    )
    expected_status_codes = serializers.ListField(
        child=serializers.IntegerField(min_value=100, max_value=599), max_length=100, required=False
    )
    required_keyword = serializers.CharField(max_length=500, allow_blank=True, required=False)
    http_method = LowerCaseChoiceField(choices=HTTP_METHODS, required=False)
    request_body = serializers.CharField(max_length=100_000, allow_blank=True, required=False, trim_whitespace=False)
    request_headers = RequestHeaderSerializer(many=True, required=False, max_length=100)
    auth_username = serializers.CharField(max_length=200, allow_blank=True, required=False)
    auth_password = serializers.CharField(
        max_length=200, allow_blank=True, required=False, write_only=True, trim_whitespace=False
    )
    follow_redirects = serializers.BooleanField(required=False)
    max_redirects = serializers.IntegerField(min_value=0, max_value=30, required=False)
    remember_cookies = serializers.BooleanField(required=False)
    verify_ssl = serializers.BooleanField(required=False)
    ip_version = serializers.ChoiceField(choices=["ipv4", "ipv6"], allow_null=True, required=False)
    port = PortField(required=False, allow_null=True)
    check_frequency = serializers.IntegerField(min_value=1, max_value=MAX_DB_INTEGER, required=False)
    request_timeout = serializers.IntegerField(
        min_value=1,
        max_value=MAX_DB_INTEGER,
        required=False,
        help_text="Seconds (2-60) for HTTP types; milliseconds (500-5000) for tcp, udp, ping, dns, smtp, pop, imap. "
        "Never more than check_frequency; when omitted it defaults to 30 s / 5000 ms and follows a lower "
        "check_frequency down.",
    )
    regions = serializers.ListField(child=serializers.CharField(max_length=32), required=False, max_length=100)
    quorum = serializers.IntegerField(min_value=1, max_value=100, allow_null=True, required=False)
    confirmation_period = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    recovery_period = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    ssl_expiration = serializers.ChoiceField(choices=ALERT_DAY_CHOICES, allow_null=True, required=False)
    domain_expiration = serializers.ChoiceField(choices=ALERT_DAY_CHOICES, allow_null=True, required=False)
    monitor_group_id = IdField(allow_null=True, required=False)
    status = serializers.ChoiceField(choices=MonitorStatus.values, read_only=True)
    last_checked_at = TimestampField(read_only=True, allow_null=True)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    # --- one attribute at a time ----------------------------------------------------------

    def validate_check_frequency(self, value: int) -> int:
        floor = settings.PHAROS_MIN_CHECK_FREQUENCY
        if value < floor:
            raise serializers.ValidationError(f"must be at least {floor} seconds")
        return value

    def validate_regions(self, regions: list[str]) -> list[str]:
        configured = settings.PHAROS_REGIONS
        unknown = [region for region in regions if region not in configured]
        if unknown:
            raise serializers.ValidationError(
                f"{', '.join(map(repr, unknown))} not configured; regions are {', '.join(configured)}"
            )
        if not regions:
            raise serializers.ValidationError("must name at least one region")
        return list(dict.fromkeys(regions))

    validate_monitor_group_id = AlertableSerializer.validate_group_id

    def validate_request_headers(self, headers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = set(self.instance.request_headers.values_list("pk", flat=True)) if self.instance else set()
        for index, header in enumerate(headers):
            if "id" in header and header["id"] not in known:
                raise serializers.ValidationError(f"[{index}].id: no request header {header['id']} on this monitor")
        return headers

    # --- the monitor as a whole --------------------------------------------------------------

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {}
        self.claim_team_room()
        monitor_type = self.current(attrs, "monitor_type", "status")
        if "url" in attrs or "monitor_type" in attrs:
            try:
                attrs["url"] = validate_target(monitor_type, self.current(attrs, "url", ""))
            except InvalidTarget as error:
                errors["url"] = [str(error)]
        port = self.current(attrs, "port", "") or ""
        if needs_port(monitor_type) and not port:
            errors["port"] = [f"is required for {monitor_type} monitors"]
        elif not port and monitor_type in DEFAULT_PORTS and ("monitor_type" in attrs or "port" in attrs):
            attrs["port"] = DEFAULT_PORTS[monitor_type]
        if needs_keyword(monitor_type) and not self.current(attrs, "required_keyword", ""):
            errors["required_keyword"] = [f"is required for {monitor_type} monitors"]
        if monitor_type == "expected_status_code" and not self.current(attrs, "expected_status_codes", []):
            errors["expected_status_codes"] = ["must list at least one status code for expected_status_code monitors"]
        timeout = self.request_timeout_after_write(attrs, monitor_type)
        if isinstance(timeout, str):
            errors["request_timeout"] = [timeout]
        elif timeout is not None:
            attrs["request_timeout"] = timeout
        regions = self.current(attrs, "regions", []) or settings.PHAROS_REGIONS
        quorum = self.current(attrs, "quorum", None)
        if quorum is not None and quorum > len(regions):
            errors["quorum"] = [f"must be at most the number of regions ({len(regions)})"]
        errors.update(self.maintenance_errors(attrs))
        if errors:
            raise serializers.ValidationError(errors)
        if attrs.get("ip_version", "") is None:
            attrs["ip_version"] = ""
        if "port" in attrs and attrs["port"] is None:
            attrs["port"] = ""
        return attrs

    def request_timeout_after_write(self, attrs: dict[str, Any], monitor_type: str) -> int | str | None:
        """The timeout to store (an int), an error message (a str), or None to leave the
        stored one alone. A timeout that was sent must keep the rule; one that was not
        (omitted on create, stored, or stored in the unit of the type a PATCH replaces)
        follows the frequency down instead of failing the write."""
        frequency = self.current(attrs, "check_frequency", Monitor._meta.get_field("check_frequency").default)
        if "request_timeout" in attrs:
            return timeout_error(monitor_type, attrs["request_timeout"], frequency) or attrs["request_timeout"]
        stored = None
        if self.instance is not None and self.instance.monitor_type in REGISTRY:
            stored = converted_timeout(
                self.instance.request_timeout, from_type=self.instance.monitor_type, to_type=monitor_type
            )
        timeout = bounded_timeout(monitor_type, stored, frequency)
        return None if self.instance is not None and timeout == self.instance.request_timeout else timeout

    # --- writing ------------------------------------------------------------------------------

    def create(self, validated: dict[str, Any]) -> Monitor:
        headers = validated.pop("request_headers", [])
        paused, with_group = member_pause(
            instance=None, paused_requested=validated.pop("paused", False), group=self.group_after_write(validated)
        )
        now = timezone.now()
        monitor = Monitor(team=self.team, paused_with_group=with_group, **validated)
        changes = MONITOR_PAUSING.paused_fields(now) if paused else MONITOR_PAUSING.next_deadline(monitor, now)
        for name, value in changes.items():
            setattr(monitor, name, value)
        monitor.save()
        MonitorRequestHeader.objects.bulk_create(
            MonitorRequestHeader(monitor=monitor, name=header["name"], value=header.get("value", ""))
            for header in headers
        )
        return monitor

    def update(self, monitor: Monitor, validated: dict[str, Any]) -> Monitor:
        headers = validated.pop("request_headers", None)
        self.save_edit(monitor, validated)
        if headers is not None:
            apply_header_changes(monitor, headers)
        return monitor

    # --- reading ------------------------------------------------------------------------------

    def to_representation(self, monitor: Monitor) -> dict[str, Any]:
        data = super().to_representation(monitor)
        data["regions"] = monitor.effective_regions
        data["quorum"] = monitor.effective_quorum
        data["ip_version"] = monitor.ip_version or None
        data["request_headers"] = [
            {"id": str(header.pk), "name": header.name, "value": header.value}
            for header in monitor.request_headers.all()
        ]
        return data

    def relationships(self, monitor: Monitor) -> dict[str, Any]:
        return self.policy_relationship(monitor)


def apply_header_changes(monitor: Monitor, changes: list[dict[str, Any]]) -> None:
    """PATCH semantics of ``request_headers``: add, update by id, delete by id."""
    for change in changes:
        if "id" not in change:
            MonitorRequestHeader.objects.create(monitor=monitor, name=change["name"], value=change.get("value", ""))
            continue
        rows = MonitorRequestHeader.objects.filter(monitor=monitor, pk=change["id"])
        if change.get("_destroy"):
            rows.delete()
        else:
            fields = {key: change[key] for key in ("name", "value") if key in change}
            if fields:
                rows.update(**fields)


class MonitorRelationshipsSerializer(serializers.Serializer):
    policy = RelationshipSerializer()


MONITOR_GROUP_MEMBERS = GroupMembers(MONITOR_PAUSING)


class MonitorGroupSerializer(GroupSerializer):
    """A monitor group (``/api/v2/monitor-groups``)."""

    resource_type = "monitor_group"
    group_model = MonitorGroup
    members = MONITOR_GROUP_MEMBERS
