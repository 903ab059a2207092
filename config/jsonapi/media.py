"""Request and response media: JSON, also under JSON:API's ``application/vnd.api+json``.

Requests carry attributes flat, as Better Stack's API takes them
(``{"url": …, "check_frequency": 30}``); a JSON:API document
``{"data": {"type": …, "attributes": {…}}}`` is unwrapped to its attributes so that
generic JSON:API clients work too.
"""

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

JSON_API_MEDIA_TYPE = "application/vnd.api+json"


class JsonApiParser(JSONParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        document = super().parse(stream, media_type, parser_context)
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

