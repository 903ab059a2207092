"""``?from=YYYY-MM-DD&to=YYYY-MM-DD`` date ranges, as the SLA and availability endpoints take them.

Both ends are whole UTC days and inclusive: ``from=2026-11-01&to=2026-11-30`` is November.
A missing ``from`` means the day the object was created, a missing ``to`` today. A date that
does not parse, or a ``from`` after ``to``, is a 400 with a string ``errors``.
"""

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, overload

from config.jsonapi.errors import BadRequest

if TYPE_CHECKING:
    from drf_spectacular.utils import OpenApiParameter

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@overload
def parse_day(params: Mapping[str, str], name: str, default: date) -> date: ...
@overload
def parse_day(params: Mapping[str, str], name: str, default: None) -> date | None: ...
def parse_day(params: Mapping[str, str], name: str, default: date | None) -> date | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        if not _DATE.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"Invalid {name} date {raw[:40]!r}: use YYYY-MM-DD") from None


def day_range(params: Mapping[str, str], *, created_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """``(start, end)`` aware datetimes covering the requested days."""
    first = parse_day(params, "from", created_at.astimezone(UTC).date())
    last = parse_day(params, "to", now.astimezone(UTC).date())
    if first > last:
        raise BadRequest("Invalid date range: from must not be after to")
    start = datetime.combine(first, time.min, tzinfo=UTC)
    if last == date.max:
        return start, datetime.max.replace(tzinfo=UTC)
    return start, datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)


def range_parameters() -> list["OpenApiParameter"]:
    """OpenAPI query parameters for ``from`` and ``to``."""
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import OpenApiParameter

    return [
        OpenApiParameter(
            "from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD, UTC); default: the day it was created."
        ),
        OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive (YYYY-MM-DD, UTC); default: today."),
    ]
