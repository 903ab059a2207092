"""OpenAPI description of the envelope, so that generated clients see the real shapes.

``document_resource`` annotates a ``ResourceViewSet``'s standard actions; ``error_responses``
lists the error bodies an operation may answer with; ``forbid_unknown_attributes`` is a
drf-spectacular post-processing hook that marks request bodies ``additionalProperties:
false`` — the API rejects unknown attributes, and the schema says so.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

from config.jsonapi.serializers import ErrorMessageSerializer, ValidationErrorsSerializer, envelope_serializers
from config.jsonapi.views import ResourceViewSet

V = TypeVar("V", bound=type[ResourceViewSet])

ERROR_DESCRIPTIONS = {
    400: "Bad request parameter (a string `errors`)",
    401: 'Missing or invalid token: `{"errors": "Invalid Team API token"}`',
    404: '`{"errors": "Resource with provided ID was not found"}`',
    409: "Already done (a string `errors`)",
    422: 'Invalid attributes: `{"errors": {"attribute": ["message"]}}`',
    429: "Rate limited; see the `Retry-After` header",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    responses = {}
    for code in (401, 429, *codes):
        serializer = ValidationErrorsSerializer if code == 422 else ErrorMessageSerializer
        responses[code] = OpenApiResponse(serializer, description=ERROR_DESCRIPTIONS[code])
    return responses


def document_resource(
    attributes_class: type[serializers.Serializer],
    resource_type: str,
    *,
    relationships_class: type[serializers.Serializer] | None = None,
    tags: list[str] | None = None,
    list_errors: tuple[int, ...] = (),
    nested: bool = False,
) -> Callable[[V], V]:
    """Class decorator describing list/create/retrieve/partial_update/destroy of a resource.

    ``nested``: the collection hangs under a parent named in the path, so listing and
    creating may answer 404 too (the parent is missing or another team's)."""
    list_errors = (*list_errors, 404) if nested else list_errors
    create_errors = (400, 404, 422) if nested else (400, 422)
    _, document, list_document = envelope_serializers(attributes_class, resource_type, relationships_class)

    def decorate(viewset: V) -> V:
        viewset.document_serializer = document
        viewset.list_document_serializer = list_document
        return extend_schema_view(
            list=extend_schema(responses={200: list_document, **error_responses(400, *list_errors)}, tags=tags),
            create=extend_schema(
                request=attributes_class, responses={201: document, **error_responses(*create_errors)}, tags=tags
            ),
            retrieve=extend_schema(responses={200: document, **error_responses(404)}, tags=tags),
            partial_update=extend_schema(
                request=attributes_class, responses={200: document, **error_responses(400, 404, 422)}, tags=tags
            ),
            destroy=extend_schema(responses={204: None, **error_responses(404)}, tags=tags),
        )(viewset)

    return decorate


def forbid_unknown_attributes(
    result: dict[str, Any], generator: object, request: object, public: bool
) -> dict[str, Any]:
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
