"""Error bodies in the contract's shapes, and the exceptions views raise to produce them.

Every error is ``{"errors": …}``: a string for 400/401/404/409/429, an object mapping each
attribute (or ``base``) to a list of messages for 422. The handler is installed per view
(``ResourceViewSet.get_exception_handler``), not globally, so non-API views keep DRF's
defaults.
"""

import math
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

INVALID_TOKEN_MESSAGE = "Invalid Team API token"
NOT_FOUND_MESSAGE = "Resource with provided ID was not found"
BASE_KEY = "base"


class BadRequest(exceptions.APIException):
    """400 with a string ``errors``: a bad query parameter such as a date range."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request"


class Conflict(exceptions.APIException):
    """409: the transition was already made (acknowledging or resolving twice)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict"


def attribute_errors(detail: object) -> dict[str, list[str]]:
    """Flatten DRF's nested error detail into ``{attribute: [message, …]}``.

    Nested errors (a request header, a policy step) keep their path inside the message,
    e.g. ``{"request_headers": ["[1].name: This field is required."]}``, so that the
    top-level key is always an attribute the client sent.
    """
    if not isinstance(detail, dict):
        return {BASE_KEY: _messages(detail)}
    errors: dict[str, list[str]] = {}
    for key, value in detail.items():
        name = BASE_KEY if key in ("non_field_errors", "__all__") else str(key)
        errors.setdefault(name, []).extend(_messages(value))
    return errors


def _messages(detail: object, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            step = f"[{key}]" if isinstance(key, int) or str(key).isdigit() else (f".{key}" if path else str(key))
            found.extend(_messages(value, f"{path}{step}"))
        return found
    if isinstance(detail, (list, tuple)):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list, tuple)):
                found.extend(_messages(value, f"{path}[{index}]"))
            else:
                found.extend(_messages(value, path))
        return found
    text = str(detail)
    return [f"{path}: {text}" if path else text]


def jsonapi_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler answering in docs/api.md's shapes; None lets a bug be a 500."""
    headers: dict[str, str] = {}
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return Response({"errors": NOT_FOUND_MESSAGE}, status=404)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return Response(
            {"errors": INVALID_TOKEN_MESSAGE}, status=401, headers={"WWW-Authenticate": 'Bearer realm="api"'}
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response({"errors": attribute_errors(exc.detail)}, status=422)
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        headers["Retry-After"] = str(wait)
        return Response({"errors": f"Rate limit exceeded, retry in {wait} seconds"}, status=429, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return Response({"errors": str(exc) or "Request body is too large"}, status=413)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        if isinstance(exc, exceptions.MethodNotAllowed):
            headers["Allow"] = ", ".join(context["view"].allowed_methods)
        return Response({"errors": _string_detail(exc.detail)}, status=exc.status_code, headers=headers)
    return None


def _string_detail(detail: object) -> str:
    messages = _messages(detail)
    return " ".join(messages) if messages else "Error"
