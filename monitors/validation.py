"""What a monitor's target may look like, per monitor type (used by the API serializer).

HTTP types take an ``http(s)://`` URL; tcp, udp, ping, smtp, pop, imap take a host name or
an IP address, and dns takes the DNS server's host. Ports live in ``port`` ("25,465,587").
Unless ``PHAROS_ALLOW_PRIVATE_TARGETS`` is on, a target spelled as a loopback, private or
otherwise non-public address (or ``localhost``) is refused here already; names are judged
again by the probe on the address they resolve to (probes.guard), since DNS can change.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from monitors.types import HTTP_TYPES, REGISTRY
from probes.guard import forbidden_reason, literal_address, numeric_host_form

_http_url = URLValidator(schemes=["http", "https"])
_hostname_label = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class InvalidTarget(ValueError):
    pass


def validate_target(monitor_type: str, target: str | None) -> str:
    """Return the cleaned target, or raise InvalidTarget saying what is wrong."""
    target = (target or "").strip()
    if not target:
        raise InvalidTarget("can't be blank")
    if monitor_type in HTTP_TYPES:
        try:
            _http_url(target)
        except ValidationError:
            raise InvalidTarget("must be an http:// or https:// URL") from None
        host = urlsplit(target).hostname or ""
    else:
        host = target
        if not _is_host(host):
            kind = "the DNS server's host name or IP address" if monitor_type == "dns" else "a host name or IP address"
            raise InvalidTarget(f"must be {kind} (without scheme or port) for {monitor_type} monitors")
    if numeric_host_form(host):
        # Refused even with private targets allowed: 2130706433 or 127.1 is an address
        # in disguise, and no check of "a name" can judge where it really goes.
        raise InvalidTarget("spells an IPv4 address as a number; write it as a.b.c.d")
    _refuse_private(host)
    return target


def _is_host(host: str) -> bool:
    if literal_address(host) is not None:
        return not host.startswith("[") or host.endswith("]")
    name = host.rstrip(".")
    if not name or len(name) > 253:
        return False
    return all(_hostname_label.match(label) for label in name.split("."))


def _refuse_private(host: str) -> None:
    if settings.PHAROS_ALLOW_PRIVATE_TARGETS:
        return
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise InvalidTarget("must not point at this machine (set PHAROS_ALLOW_PRIVATE_TARGETS to allow it)")
    literal = literal_address(host)
    if literal is not None:
        reason = forbidden_reason(literal)
        if reason:
            raise InvalidTarget(f"is a {reason} address; set PHAROS_ALLOW_PRIVATE_TARGETS to allow private targets")


def parse_ports(value: str | int | None) -> str:
    """``"25,465,587"`` (or an int) as a normalised string; raises InvalidTarget."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return ""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 20 or not all(
        part.isascii() and part.isdigit() and len(part) <= 5 and 0 < int(part) < 65536 for part in parts
    ):
        raise InvalidTarget("must be ports between 1 and 65535, separated by commas")
    return ",".join(str(int(part)) for part in parts)


def needs_port(monitor_type: str) -> bool:
    return REGISTRY[monitor_type].needs_port


def needs_keyword(monitor_type: str) -> bool:
    return REGISTRY[monitor_type].needs_keyword
