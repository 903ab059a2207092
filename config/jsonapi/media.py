"""Request and response media: JSON, also under JSON:API's ``application/vnd.api+json``.

Requests carry attributes flat, as Better Stack's API takes them
(``{"url": …, "check_frequency": 30}``); a JSON:API document
``{"data": {"type": …, "attributes": {…}}}`` is unwrapped to its attributes so that
generic JSON:API clients work too.
"""

import io

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

JSON_API_MEDIA_TYPE = "application/vnd.api+json"
# DRF reads the body straight from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never
# applies: the parser bounds it. The largest real document (a monitor with headers and a
# request body) is a few kB.
API_BODY_LIMIT = 1_000_000


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"Request body is larger than {API_BODY_LIMIT} bytes"
    default_code = "body_too_large"


class JsonApiParser(JSONParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(API_BODY_LIMIT + 1)
        if len(raw) > API_BODY_LIMIT:
            raise BodyTooLarge()
        document = super().parse(io.BytesIO(raw), media_type, parser_context)
        if isinstance(document, dict) and set(document) == {"data"} and isinstance(document["data"], dict):
            data = document["data"]
            if isinstance(data.get("attributes"), dict):
                return data["attributes"]
        return document


class VndJsonApiParser(JsonApiParser):
    media_type = JSON_API_MEDIA_TYPE


class JsonApiRenderer(JSONRenderer):
    media_type = "application/json"
    charset = None


class VndJsonApiRenderer(JsonApiRenderer):
    media_type = JSON_API_MEDIA_TYPE


PARSERS = [JsonApiParser, VndJsonApiParser]
RENDERERS = [JsonApiRenderer, VndJsonApiRenderer]
