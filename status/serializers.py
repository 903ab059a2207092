"""Attributes of ``status_page``, ``status_page_section``, ``status_page_resource``,
``status_report``, ``status_update`` and ``status_page_group`` (Better Stack's shapes).

Every id a client sends — a group, a section, a resource, a monitor — must be its team's
(or its page's) own, else the write is a 422 naming the attribute.
"""

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.jsonapi.fields import NameField, TimeZoneField
from config.jsonapi.serializers import MAX_DB_INTEGER, AttributesSerializer, IdField, StrictSerializer
from config.jsonapi.timestamps import TimestampField
from status import report_mail
from status.figures import RESOURCE_STATE_CHOICES, aggregate_state, resource_figures
from status.models import (
    AffectedState,
    Layout,
    PageState,
    ReportType,
    ResourceType,
    StatusPage,
    StatusPageGroup,
    StatusPageResource,
    StatusPageSection,
    StatusReport,
    StatusUpdate,
    Theme,
    WidgetType,
)
from status.sources import is_team_source

SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
TAKEN = "has already been taken"
MIN_PASSWORD_LENGTH = 8
SOURCE_NAMES = {
    ResourceType.MONITOR: "monitor",
    ResourceType.HEARTBEAT: "heartbeat",
    ResourceType.MONITOR_GROUP: "monitor group",
    ResourceType.HEARTBEAT_GROUP: "heartbeat group",
}


class StatusPageGroupSerializer(AttributesSerializer):
    resource_type = "status_page_group"

    name = NameField(max_length=200, allow_blank=True, required=False)
    sort_index = serializers.IntegerField(
        min_value=-MAX_DB_INTEGER, max_value=MAX_DB_INTEGER, allow_null=True, required=False
    )
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)

    def create(self, validated: dict) -> StatusPageGroup:
        return StatusPageGroup.objects.create(team=self.team, **validated)

    def update(self, group: StatusPageGroup, validated: dict) -> StatusPageGroup:
        return _saved(group, validated)


class LowerCaseRegexField(serializers.RegexField):
    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(data.lower() if isinstance(data, str) else data)


class StatusPageSerializer(AttributesSerializer):
    resource_type = "status_page"

    company_name = NameField(max_length=200)
    company_url = serializers.URLField(max_length=2048, allow_blank=True, required=False)
    contact_url = serializers.CharField(max_length=2048, allow_blank=True, required=False)
    logo_url = serializers.URLField(max_length=2048, allow_blank=True, required=False)
    timezone = TimeZoneField(max_length=64, required=False)
    subdomain = LowerCaseRegexField(
        SUBDOMAIN, max_length=63, error_messages={"invalid": "must be letters, digits and inner hyphens (a-z0-9-)"}
    )
    custom_domain = LowerCaseRegexField(
        HOSTNAME,
        max_length=253,
        allow_null=True,
        required=False,
        error_messages={"invalid": "must be a host name such as status.example.com"},
    )
    announcement = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    announcement_embed_visible = serializers.BooleanField(required=False)
    history = serializers.IntegerField(min_value=7, max_value=365, required=False)
    min_incident_length = serializers.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, required=False)
    subscribable = serializers.BooleanField(required=False)
    password_enabled = serializers.BooleanField(required=False)
    password = serializers.CharField(
        write_only=True, min_length=MIN_PASSWORD_LENGTH, max_length=256, required=False, trim_whitespace=False
    )
    hide_from_search_engines = serializers.BooleanField(required=False)
    published = serializers.BooleanField(required=False)
    theme = serializers.ChoiceField(choices=Theme.choices, required=False)
    layout = serializers.ChoiceField(choices=Layout.choices, required=False)
    show_region_names = serializers.BooleanField(required=False)
    status_page_group_id = IdField(allow_null=True, required=False)
    aggregate_state = serializers.SerializerMethodField()
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)

    @extend_schema_field(serializers.ChoiceField(choices=PageState.choices))
    def get_aggregate_state(self, page: StatusPage) -> str:
        return aggregate_state(page, now=timezone.now())

    def validate_subdomain(self, subdomain: str) -> str:
        taken = StatusPage.objects.filter(subdomain=subdomain)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(TAKEN)
        return subdomain

    def validate_custom_domain(self, domain: str | None) -> str | None:
        if not domain:
            return None
        taken = StatusPage.objects.filter(custom_domain=domain)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(TAKEN)
        return domain

    def validate_status_page_group_id(self, group_id: int | None) -> int | None:
        if group_id is not None and not StatusPageGroup.objects.filter(pk=group_id, team=self.team).exists():
            raise serializers.ValidationError("is not a status page group of this team")
        return group_id

    def validate(self, attrs: dict) -> dict:
        has_password = "password" in attrs or bool(self.instance is not None and self.instance.password_hash)
        if self.current(attrs, "password_enabled", False) and not has_password:
            raise serializers.ValidationError({"password": ["is required when password_enabled is true"]})
        return attrs

    def create(self, validated: dict) -> StatusPage:
        return self._write(StatusPage(team=self.team), validated)

    def update(self, page: StatusPage, validated: dict) -> StatusPage:
        return self._write(page, validated)

    def _write(self, page: StatusPage, validated: dict) -> StatusPage:
        password = validated.pop("password", None)
        if password is not None:
            page.set_password(password)  # hashed with Django's hashers; the raw one is never stored
        for name, value in validated.items():
            setattr(page, name, value)
        try:
            # The unique indexes settle a race the checks above cannot: two pages taking
            # one subdomain at once.
            with transaction.atomic():
                page.save()
        except IntegrityError as error:
            name = "custom_domain" if "custom_domain" in str(error) else "subdomain"
            raise serializers.ValidationError({name: [TAKEN]}) from None
        return page


class StatusPageSectionSerializer(AttributesSerializer):
    resource_type = "status_page_section"

    name = NameField(max_length=200, allow_blank=True, required=False)
    position = serializers.IntegerField(min_value=-MAX_DB_INTEGER, max_value=MAX_DB_INTEGER, required=False)

    def create(self, validated: dict) -> StatusPageSection:
        return StatusPageSection.objects.create(status_page=self.context["status_page"], **validated)

    def update(self, section: StatusPageSection, validated: dict) -> StatusPageSection:
        return _saved(section, validated)


class StatusHistoryDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    status = serializers.ChoiceField(choices=RESOURCE_STATE_CHOICES)
    downtime_duration = serializers.IntegerField()
    maintenance_duration = serializers.IntegerField()


class StatusResourceSerializer(AttributesSerializer):
    resource_type = "status_page_resource"

    resource_id = IdField()
    # "resource_type" is the envelope's name for this class's own type, so the field is
    # declared under another name and renamed in get_fields.
    source_kind = serializers.ChoiceField(choices=ResourceType.choices)
    public_name = NameField(max_length=200, allow_blank=True, required=False)
    explanation = serializers.CharField(max_length=10_000, allow_blank=True, required=False)
    status_page_section_id = IdField(allow_null=True, required=False, source="section_id")
    position = serializers.IntegerField(min_value=-MAX_DB_INTEGER, max_value=MAX_DB_INTEGER, required=False)
    widget_type = serializers.ChoiceField(choices=WidgetType.choices, required=False)
    status = serializers.SerializerMethodField()
    availability = serializers.SerializerMethodField()
    status_history = serializers.SerializerMethodField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        kind = fields.pop("source_kind")
        renamed = {}
        for name, field in fields.items():
            renamed[name] = field
            if name == "resource_id":
                renamed["resource_type"] = kind
        return renamed

    def figures(self, resource: StatusPageResource) -> Any:
        known = self.context.setdefault("figures", {})
        if resource.pk not in known:
            known.update(resource_figures(resource.status_page, [resource], now=timezone.now()))
        return known[resource.pk]

    @extend_schema_field(serializers.ChoiceField(choices=RESOURCE_STATE_CHOICES))
    def get_status(self, resource: StatusPageResource) -> str:
        return self.figures(resource).status

    @extend_schema_field(serializers.FloatField(min_value=0.0, max_value=1.0))
    def get_availability(self, resource: StatusPageResource) -> float:
        return self.figures(resource).availability

    @extend_schema_field(StatusHistoryDaySerializer(many=True))
    def get_status_history(self, resource: StatusPageResource) -> list[dict]:
        return [day.as_attributes() for day in self.figures(resource).history]

    def validate_status_page_section_id(self, section_id: int | None) -> int | None:
        page = self.context["status_page"]
        if section_id is not None and not page.sections.filter(pk=section_id).exists():
            raise serializers.ValidationError("is not a section of this status page")
        return section_id

    def validate(self, attrs: dict) -> dict:
        kind = self.current(attrs, "resource_type")
        source_id = self.current(attrs, "resource_id")
        if ("resource_type" in attrs or "resource_id" in attrs) and not is_team_source(self.team, kind, source_id):
            raise serializers.ValidationError({"resource_id": [f"is not a {SOURCE_NAMES[kind]} of this team"]})
        return attrs

    def create(self, validated: dict) -> StatusPageResource:
        return StatusPageResource.objects.create(status_page=self.context["status_page"], **validated)

    def update(self, resource: StatusPageResource, validated: dict) -> StatusPageResource:
        return _saved(resource, validated)


class AffectedResourceSerializer(StrictSerializer):
    status_page_resource_id = IdField()
    status = serializers.ChoiceField(choices=AffectedState.choices)

    def to_representation(self, item: Any) -> dict:
        return {"status_page_resource_id": str(item["status_page_resource_id"]), "status": item["status"]}


class AffectedResourcesField(serializers.ListField):
    """``[{"status_page_resource_id", "status"}]``, each resource of the report's page, once."""

    child = AffectedResourceSerializer()

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[dict]:
        items = super().to_internal_value(data)
        page = self.parent.context["status_page"]
        ids = [item["status_page_resource_id"] for item in items]
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError("names a resource twice")
        known = set(page.resources.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [str(pk) for pk in ids if pk not in known]
        if missing:
            raise serializers.ValidationError(f"{', '.join(missing)}: not a resource of this status page")
        return [
            {"status_page_resource_id": str(pk), "status": item["status"]} for pk, item in zip(ids, items, strict=True)
        ]


class StatusUpdateSerializer(AttributesSerializer):
    resource_type = "status_update"

    message = serializers.CharField(max_length=10_000)
    published_at = serializers.DateTimeField(required=False)
    affected_resources = AffectedResourcesField(required=False)

    def to_representation(self, update: StatusUpdate) -> dict:
        data = super().to_representation(update)
        data["published_at"] = TimestampField().to_representation(update.published_at)
        return data

    def create(self, validated: dict) -> StatusUpdate:
        report = self.context["status_report"]
        validated.setdefault("published_at", timezone.now())
        if "affected_resources" in validated:
            # The report's resources say what its latest update says.
            report.affected_resources = validated["affected_resources"]
            report.save(update_fields=["affected_resources", "updated_at"])
        else:
            validated["affected_resources"] = report.affected_resources
        update = StatusUpdate.objects.create(status_report=report, **validated)
        report_mail.report_written(report, created=False, update=update)
        return update

    def update(self, update: StatusUpdate, validated: dict) -> StatusUpdate:
        return _saved(update, validated)


class StatusUpdateOutSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9]+$")
    message = serializers.CharField()
    published_at = serializers.CharField()
    affected_resources = AffectedResourceSerializer(many=True)


class StatusReportSerializer(AttributesSerializer):
    resource_type = "status_report"

    title = NameField(max_length=300)
    report_type = serializers.ChoiceField(choices=ReportType.choices, required=False)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(allow_null=True, required=False)
    # The first status update's text; a report without one has no update yet.
    message = serializers.CharField(max_length=10_000, write_only=True, required=False)
    affected_resources = AffectedResourcesField(required=False)
    status_updates = serializers.SerializerMethodField()
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)

    def to_representation(self, report: StatusReport) -> dict:
        data = super().to_representation(report)
        data["starts_at"] = TimestampField().to_representation(report.starts_at)
        data["ends_at"] = TimestampField().to_representation(report.ends_at)
        return data

    @extend_schema_field(StatusUpdateOutSerializer(many=True))
    def get_status_updates(self, report: StatusReport) -> list[dict]:
        return [
            {
                "id": str(update.pk),
                "message": update.message,
                "published_at": TimestampField().to_representation(update.published_at),
                "affected_resources": update.affected_resources,
            }
            for update in report.status_updates.all()
        ]

    def validate(self, attrs: dict) -> dict:
        starts_at = self.current(attrs, "starts_at")
        ends_at = self.current(attrs, "ends_at")
        if starts_at is not None and ends_at is not None and ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": ["must be after starts_at"]})
        return attrs

    def create(self, validated: dict) -> StatusReport:
        message = validated.pop("message", None)
        validated.setdefault("starts_at", timezone.now())
        report = StatusReport.objects.create(status_page=self.context["status_page"], **validated)
        if message is not None:
            StatusUpdate.objects.create(
                status_report=report,
                message=message,
                published_at=timezone.now(),
                affected_resources=report.affected_resources,
            )
        # In the create's transaction: the subscribers' mail is promised as the report commits.
        report_mail.report_written(report, created=True)
        return report

    def update(self, report: StatusReport, validated: dict) -> StatusReport:
        message = validated.pop("message", None)
        report = _saved(report, validated)
        update = None
        if message is not None:
            update = StatusUpdate.objects.create(
                status_report=report,
                message=message,
                published_at=timezone.now(),
                affected_resources=report.affected_resources,
            )
        report_mail.report_written(report, created=False, update=update)
        return report


def _saved(instance: Any, validated: dict) -> Any:
    for name, value in validated.items():
        setattr(instance, name, value)
    instance.save()
    return instance
