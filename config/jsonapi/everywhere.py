"""JSON for every path under ``/api/``, whatever the method and whatever went wrong.

Resource views answer in the contract's shapes themselves. What reaches a client from
outside them — an unknown path (for POST and PATCH too, where Django's CSRF check used to
answer first with its HTML page), a method a plain Django view refuses, a CSRF failure,
Django's own 400/404/500 pages — is rewritten here into ``{"errors": "<reason>"}`` with
the same status and headers (``Allow``, ``Retry-After``, ``WWW-Authenticate`` survive).

Successful answers are never touched: the docs page (``/api/docs/``) is HTML on purpose,
and the schema is YAML unless ``?format=json``. A HEAD answer keeps an empty body. A
plain-text error keeps its text as the message. The heartbeat ping URL
(``/api/v1/heartbeat/…``) is left as it is: its answers are a plain-text protocol for
``curl`` in a crontab, and its route (heartbeats.views.ping_route) skips all middleware anyway.
"""

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from config.jsonapi.errors import NOT_FOUND_MESSAGE
from config.jsonapi.media import API_BODY_LIMIT

API_PREFIX = "/api/"
PING_PREFIX = "/api/v1/heartbeat/"
MAX_TEXT_MESSAGE = 500
JSON_TYPES = ("application/json", "application/vnd.api+json", "application/problem+json")
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


@csrf_exempt
def unknown_endpoint(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Every unrouted path under /api/, for every method: the API's 404.

    CSRF-exempt because it changes nothing and authenticates nobody: a POST to a wrong path
    deserves the same 404 as a GET, not Django's HTML "CSRF verification failed" page.
    """
    return JsonResponse({"errors": NOT_FOUND_MESSAGE}, status=404)


def error_reason(status: int) -> str:
    if status == 404:
        return NOT_FOUND_MESSAGE
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def announced_too_large(request: HttpRequest) -> HttpResponse | None:
    """The JSON 413 for a body whose Content-Length is over the API's limit, unread.

    Without it a 10 MB body reached Django's DATA_UPLOAD_MAX_MEMORY_SIZE check first and
    came back as a generic 400; and there is no reason to receive a body we will refuse.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"errors": "Content-Length is not a number"}, status=400)
    if length <= API_BODY_LIMIT:
        return None
    response = JsonResponse({"errors": f"Request body is larger than {API_BODY_LIMIT} bytes"}, status=413)
    # The unread body is still on the connection: do not keep it alive for another request.
    response["Connection"] = "close"
    return response


class JsonErrorsUnderApi:
    """Outermost middleware: an error under /api/ that is not JSON becomes JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        under_api = request.path.startswith(API_PREFIX) and not request.path.startswith(PING_PREFIX)
        if under_api:
            # Nothing under /api/ reads the session: resources authenticate by bearer token,
            # the rest (health, schema, docs) change nothing. The CSRF check protects
            # nothing here and would only answer a POST to a GET-only view with a 403
            # instead of its 405. A view that ever uses the session belongs elsewhere.
            request.csrf_processing_done = True
            too_large = announced_too_large(request)
            if too_large is not None:
                return too_large
        response = self.get_response(request)
        if not under_api or response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in JSON_TYPES:
            return response
        message = error_reason(response.status_code)
        if content_type == "text/plain" and not getattr(response, "streaming", False):
            text = response.content.decode("utf-8", "replace").strip()
            if text and len(text) <= MAX_TEXT_MESSAGE:
                message = text
        replacement = JsonResponse({"errors": message}, status=response.status_code)
        for header in KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        if request.method == "HEAD":
            replacement.content = b""
        return replacement
