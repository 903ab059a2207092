"""Base serializers: attributes in, attributes out, and the envelope around them.

``AttributesSerializer.as_resource(instance)`` is the envelope item
``{"id": "<digits>", "type": …, "attributes": …, "relationships": …}``. Its fields are the
resource's attributes; a request naming anything that is not one of them is a 422 naming
that attribute, before any other validation (docs/api.md: unknown attributes are an error, not
silently dropped). Read-only attributes sent back unchanged (a GET body replayed as a PATCH)
are ignored, as they are known.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

if TYPE_CHECKING:
    from teams.models import Team

UNKNOWN_ATTRIBUTE_MESSAGE = "is not a known attribute"
MAX_DB_INTEGER = 2_147_483_647


class StrictSerializer(serializers.Serializer):
    """Rejects keys that are not among its fields (422 naming them) instead of dropping them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                raise serializers.ValidationError({str(name): [UNKNOWN_ATTRIBUTE_MESSAGE] for name in unknown})
        return super().to_internal_value(data)


class AttributesSerializer(StrictSerializer):
    resource_type: str | None = None

    def relationships(self, instance: Any) -> dict[str, Any]:
        return {}

    def as_resource(self, instance: Any) -> dict[str, Any]:
        return {
            "id": str(instance.pk),
            "type": self.resource_type,
            "attributes": self.to_representation(instance),
            "relationships": self.relationships(instance),
        }

    @property
    def team(self) -> "Team":
        team: Team = self.context["team"]
        return team

    def current(self, attrs: Mapping[str, Any], name: str, default: Any = None) -> Any:
        """The value ``name`` will have after this write: sent, stored, or the default."""
        if name in attrs:
            return attrs[name]
        if self.instance is not None:
            return getattr(self.instance, name)
        return default


@extend_schema_field({"type": "string", "pattern": "^[0-9]+$"})
class IdField(serializers.Field):
    """An id read as a number or a string of digits, and written as a string of digits."""

    default_error_messages = {"invalid": "must be an id (a string of digits)"}

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            value = data
        elif isinstance(data, str) and data.isascii() and data.isdigit() and len(data) <= 19:
            value = int(data)
        else:
            self.fail("invalid")
        if not 0 < value < 2**63:
            self.fail("invalid")
        return value

    def to_representation(self, value: int | None) -> str | None:
        return None if value is None else str(value)


def relationship(resource_type: str, pk: int | None) -> dict[str, Any]:
    return {"data": None if pk is None else {"id": str(pk), "type": resource_type}}


# --- Schema-only serializers: the envelope drf-spectacular describes --------------------


class RelatedResourceSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()


class RelationshipSerializer(serializers.Serializer):
    data = RelatedResourceSerializer(allow_null=True)


class PaginationLinksSerializer(serializers.Serializer):
    first = serializers.URLField()
    last = serializers.URLField()
    prev = serializers.URLField(allow_null=True)
    next = serializers.URLField(allow_null=True)


def envelope_serializers(
    attributes_class: type[serializers.Serializer],
    resource_type: str,
    relationships_class: type[serializers.Serializer] | None = None,
    *,
    name: str | None = None,
) -> tuple[type[serializers.Serializer], type[serializers.Serializer], type[serializers.Serializer]]:
    """``(Resource, Document, ListDocument)`` serializer classes describing the envelope."""
    name = name or attributes_class.__name__.removesuffix("Serializer").removesuffix("Attributes")
    relationships = relationships_class() if relationships_class else serializers.DictField(default=dict)
    resource = type(
        f"{name}ResourceSerializer",
        (serializers.Serializer,),
        {
            "id": serializers.RegexField(r"^[0-9]+$"),
            "type": serializers.ChoiceField(choices=[resource_type]),
            "attributes": attributes_class(),
            "relationships": relationships,
        },
    )
    document = type(f"{name}DocumentSerializer", (serializers.Serializer,), {"data": resource()})
    # many=False: the list document is one object; without it drf-spectacular would wrap
    # it in an array because it answers a list action.
    list_document = extend_schema_serializer(many=False)(
        type(
            f"{name}ListSerializer",
            (serializers.Serializer,),
            {"data": resource(many=True), "pagination": PaginationLinksSerializer()},
        )
    )
    return resource, document, list_document


def singleton_document(
    name: str, resource_type: str, attributes_class: type[serializers.Serializer]
) -> type[serializers.Serializer]:
    """A ``{"data": {"id", "type", "attributes"}}`` document for a computed resource (an SLA)."""
    resource = type(
        f"{name}ResourceSerializer",
        (serializers.Serializer,),
        {
            "id": serializers.RegexField(r"^[0-9]+$"),
            "type": serializers.ChoiceField(choices=[resource_type]),
            "attributes": attributes_class(),
        },
    )
    return type(f"{name}DocumentSerializer", (serializers.Serializer,), {"data": resource()})


class ErrorMessageSerializer(serializers.Serializer):
    errors = serializers.CharField()


class ValidationErrorsSerializer(serializers.Serializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
