"""IANA time zones by name: maintenance windows, cron heartbeats and API validation read
zones through here, so they agree on which names exist."""

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@lru_cache(maxsize=1)
def known_zone_names() -> frozenset[str]:
    # ZoneInfo() would also open file paths such as "../../etc/x"; only IANA names count.
    return frozenset(available_timezones()) | {"UTC"}


@lru_cache(maxsize=512)
def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The zone called ``name``, or None when no IANA zone has that name."""
    if not name or name not in known_zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
