"""Request and response media: JSON, also under JSON:API's ``application/vnd.api+json``.

Requests carry attributes flat, as Better Stack's API takes them
(``{"url": …, "check_frequency": 30}``); a JSON:API document
``{"data": {"type": …, "attributes": {…}}}`` is unwrapped to its attributes so that
generic JSON:API clients work too.
"""

import io
import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

JSON_API_MEDIA_TYPE = "application/vnd.api+json"
# The largest real document (a monitor with headers and a request body) is a few kB. A
# body announced larger is refused before it is read (config.jsonapi.everywhere); one
# sent without a length is cut here.
API_BODY_LIMIT = 1_000_000
# No resource nests deeper than a handful of levels (a policy's steps' members). Python's
# parser recurses once per level and fails with a RecursionError near 1,000.
MAX_JSON_DEPTH = 32

# A JSON string (escapes included) or a bracket: strings are skipped whole, so a "[" inside
# one does not count.
_STRING_OR_BRACKET = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"Request body is larger than {API_BODY_LIMIT} bytes"
    default_code = "body_too_large"


class JsonApiParser(JSONParser):
    media_type = "application/json"

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read(API_BODY_LIMIT + 1)
        if len(raw) > API_BODY_LIMIT:
            raise BodyTooLarge()
        if nesting_exceeds(raw, MAX_JSON_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
        document = super().parse(io.BytesIO(raw), media_type, parser_context)
        refuse_lone_surrogates(document)
        if isinstance(document, dict) and set(document) == {"data"} and isinstance(document["data"], dict):
            data = document["data"]
            if isinstance(data.get("attributes"), dict):
                return data["attributes"]
        return document


def nesting_exceeds(raw: bytes, limit: int) -> bool:
    """True when the JSON text ``raw`` opens more than ``limit`` arrays/objects at once."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def refuse_lone_surrogates(document: object) -> None:
    """A 422 naming the attribute when any string in ``document`` holds a lone surrogate.

    JSON's ``"\\ud800"`` escape decodes to a code point no UTF-8 can carry: echoed in an
    error message it broke the response (UnicodeEncodeError), stored in jsonb it broke the
    INSERT. Refused once here, for every value and key of every resource.
    """
    found = _first_surrogate(document)
    if found is None:
        return
    attribute, character = found
    message = f"must not contain lone surrogate characters (found U+{ord(character):04X})"
    raise ValidationError({attribute or "base": [message]})


def _first_surrogate(value: object, attribute: str = "") -> tuple[str, str] | None:
    if isinstance(value, str):
        match = _SURROGATE.search(value)
        return (attribute, match.group()) if match else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = attribute or (key if not _SURROGATE.search(key) else "")
            found = _first_surrogate(key, name) or _first_surrogate(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _first_surrogate(item, attribute)
            if found:
                return found
    return None


class VndJsonApiParser(JsonApiParser):
    media_type = JSON_API_MEDIA_TYPE


class JsonApiRenderer(JSONRenderer):
    media_type = "application/json"
    charset = None


class VndJsonApiRenderer(JsonApiRenderer):
    media_type = JSON_API_MEDIA_TYPE


PARSERS = [JsonApiParser, VndJsonApiParser]
RENDERERS = [JsonApiRenderer, VndJsonApiRenderer]
