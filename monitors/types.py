"""The registry of monitor types: one entry per type, each with its probe kind and the
unit of its ``request_timeout`` (API.md: seconds for HTTP types, milliseconds otherwise).

An unknown type fails validation here rather than becoming a monitor no probe can run.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class MonitorType:
    name: str
    probe: str  # the probe family in probes/ that runs it
    timeout_unit: float  # seconds per unit of request_timeout
    needs_keyword: bool = False
    needs_port: bool = False


_TYPES = [
    MonitorType("status", "http", 1.0),
    MonitorType("expected_status_code", "http", 1.0),
    MonitorType("keyword", "http", 1.0, needs_keyword=True),
    MonitorType("keyword_absence", "http", 1.0, needs_keyword=True),
    MonitorType("tcp", "tcp", 0.001, needs_port=True),
    MonitorType("udp", "udp", 0.001, needs_keyword=True, needs_port=True),
    MonitorType("ping", "ping", 0.001),
    MonitorType("dns", "dns", 0.001),
    MonitorType("smtp", "smtp", 0.001),
    MonitorType("pop", "pop", 0.001),
    MonitorType("imap", "imap", 0.001),
]

REGISTRY = {t.name: t for t in _TYPES}
MONITOR_TYPES = tuple(REGISTRY)
HTTP_TYPES = tuple(t.name for t in _TYPES if t.probe == "http")
HTTP_METHODS = ("get", "head", "post", "put", "patch")
ALERT_DAYS = (1, 2, 3, 7, 14, 30, 60)
DEFAULT_PORTS = {"smtp": "25", "pop": "110", "imap": "143"}


def timeout_seconds(monitor_type, request_timeout):
    return request_timeout * REGISTRY[monitor_type].timeout_unit
