"""Page-number pagination with Better Stack's ``pagination`` links.

``?page`` counts from 1 and ``?per_page`` is clamped to the maximum (a client asking for
more simply gets the maximum, as Better Stack does); a page past the last is an empty
``data`` with links back. Links are absolute and keep every other query parameter, so a
client can follow ``next`` without knowing which filters it used.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils.http import urlencode
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from config.jsonapi.errors import BadRequest


class Pagination(BasePagination):
    default_per_page = 50
    max_per_page = 250

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: object = None) -> list[Any]:
        self.request = request
        self.page = _positive_int(request.query_params, "page", 1)
        self.per_page = min(_positive_int(request.query_params, "per_page", self.default_per_page), self.max_per_page)
        self.count = queryset.count()
        offset = (self.page - 1) * self.per_page
        if offset >= self.count:
            return []
        return list(queryset[offset : offset + self.per_page])

    @property
    def last_page(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    def get_paginated_response(self, data: Sequence[Any]) -> Response:
        return Response({"data": data, "pagination": self.links()})

    def links(self) -> dict[str, str | None]:
        last = self.last_page
        return {
            "first": self._url(1),
            "last": self._url(last),
            "prev": self._url(min(self.page - 1, last)) if self.page > 1 else None,
            "next": self._url(self.page + 1) if self.page < last else None,
        }

    def _url(self, page: int) -> str:
        params = [(key, value) for key, value in self.request.query_params.lists() if key != "page"]
        params = [(key, value) for key, values in params for value in values]
        params.append(("page", str(page)))
        return self.request.build_absolute_uri(self.request.path) + "?" + urlencode(params)

    def get_schema_operation_parameters(self, view: object) -> list[dict[str, Any]]:
        return [
            _query_parameter("page", "Page number, from 1.", minimum=1),
            _query_parameter(
                "per_page",
                f"Items per page (default {self.default_per_page}, at most {self.max_per_page}).",
                minimum=1,
            ),
        ]


class IncidentPagination(Pagination):
    default_per_page = 10
    max_per_page = 50


def _positive_int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a positive integer") from None
    if value < 1:
        raise BadRequest(f"{name} must be a positive integer")
    # Past this any page is empty anyway; the cap keeps OFFSET arithmetic in range.
    return min(value, 10**9)


def _query_parameter(name: str, description: str, *, minimum: int) -> dict[str, Any]:
    return {
        "name": name,
        "required": False,
        "in": "query",
        "description": description,
        "schema": {"type": "integer", "minimum": minimum},
    }
