"""Typed reads of environment variables.

Every reader raises ``ImproperlyConfigured`` naming the variable, so a bad deployment
stops at start-up with a message an operator can act on instead of failing later.
"""

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, overload
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


@overload
def env_str(name: str, default: str, *, required: bool = False) -> str: ...
@overload
def env_str(name: str, default: None = None, *, required: Literal[True]) -> str: ...
@overload
def env_str(name: str, default: None = None, *, required: bool = False) -> str | None: ...
def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_log_level(name: str = "LOG_LEVEL", default: str = "INFO") -> str:
    import logging

    level = env_str(name, default).upper()
    if level not in logging.getLevelNamesMapping():
        raise ImproperlyConfigured(f"{name} must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {level!r}")
    return level


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: Iterable[str], *, allow_empty: bool = False) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items and not allow_empty:
        raise ImproperlyConfigured(f"{name} must list at least one value, got {raw!r}")
    return items


def env_regions(name: str = "PHAROS_REGIONS", default: Iterable[str] = ("us", "eu", "as")) -> list[str]:
    regions = env_list(name, default)
    for region in regions:
        # Region names end up in queue names (probe.<region>) and URLs.
        if not region.replace("-", "").replace("_", "").isalnum() or len(region) > 32:
            raise ImproperlyConfigured(f"{name} holds an invalid region {region!r}: use letters, digits, '-' or '_'")
    if len(set(regions)) != len(regions):
        raise ImproperlyConfigured(f"{name} lists a region twice: {','.join(regions)}")
    return regions


def database_from_url(
    url: str | None, *, name: str = "DATABASE_URL", sqlite_default_path: str | Path
) -> dict[str, Any]:
    """Turn ``DATABASE_URL`` into a Django DATABASES entry (SQLite when unset)."""
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_default_path)}
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgres", "postgresql", "pgsql"):
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name} must name a database, got {without_password(url)!r}")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port: {without_password(url)!r}") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
        }
    if scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc == "" and path.startswith("/"):
            # sqlite:///relative.db and sqlite:////absolute.db, as dj-database-url spells them.
            path = path[1:] or str(sqlite_default_path)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or str(sqlite_default_path)}
    raise ImproperlyConfigured(f"{name} has an unknown scheme {parts.scheme!r}: use postgres:// or sqlite:///")


def without_password(url: str) -> str:
    """The URL as it may appear in an error message or a log: the password masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def env_proxy_ssl_header(name: str = "PHAROS_PROXY_SSL_HEADER") -> tuple[str, str] | None:
    """Django's SECURE_PROXY_SSL_HEADER from ``X-Forwarded-Proto: https`` (or 1/true for that
    header; unset, empty or 0: None). Only set it behind a proxy that always writes the header."""
    raw = (os.environ.get(name) or "").strip()
    if raw.lower() in FALSE_WORDS:
        return None
    if raw.lower() in TRUE_WORDS:
        raw = "X-Forwarded-Proto: https"
    header, separator, value = raw.partition(":")
    header, value = header.strip(), value.strip()
    if not separator or not header or not value or not all(c.isalnum() or c == "-" for c in header):
        raise ImproperlyConfigured(f'{name} must look like "X-Forwarded-Proto: https" (or be 1/0), got {raw!r}')
    return ("HTTP_" + header.upper().replace("-", "_"), value)
