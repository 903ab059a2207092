"""Monitor row → probes.spec.CheckSpec, the only shape a region worker understands.

Units are converted here (``request_timeout`` is seconds for HTTP types and
milliseconds for the others, per monitors.types) so no region worker has to know, and the
timeout is held to its type's range and the check frequency (monitors.types) whatever
the row says.
"""

from collections.abc import Sequence
from typing import Protocol

from monitors.models import MonitorRequestHeader
from monitors.types import DEFAULT_PORTS, REGISTRY, check_timeout_seconds
from probes.spec import CheckSpec


class UnbuildableMonitor(ValueError):
    """The row cannot become a spec (bad port list, unknown type): the tick logs and skips it."""


class SpecSource(Protocol):
    """What a spec is built from: a Monitor, or the tick's plain row (monitors.scheduler)."""

    @property
    def pk(self) -> int: ...
    @property
    def team_id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def monitor_type(self) -> str: ...
    @property
    def expected_status_codes(self) -> Sequence[int] | None: ...
    @property
    def required_keyword(self) -> str: ...
    @property
    def http_method(self) -> str: ...
    @property
    def request_body(self) -> str: ...
    @property
    def auth_username(self) -> str: ...
    @property
    def auth_password(self) -> str: ...
    @property
    def follow_redirects(self) -> bool: ...
    @property
    def max_redirects(self) -> int: ...
    @property
    def remember_cookies(self) -> bool: ...
    @property
    def verify_ssl(self) -> bool: ...
    @property
    def ip_version(self) -> str: ...
    @property
    def port(self) -> str: ...
    @property
    def check_frequency(self) -> int: ...
    @property
    def request_timeout(self) -> int: ...
    @property
    def ssl_expiration(self) -> int | None: ...


def parse_ports(port_field: str | None, monitor_type: str) -> tuple[int, ...]:
    """``"25,465"`` → ``(25, 465)``; empty falls back to the type's default port, if any."""
    text = (port_field or "").strip() or DEFAULT_PORTS.get(monitor_type, "")
    ports = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if not piece.isdigit() or not 0 < int(piece) < 65536:
            raise UnbuildableMonitor(f"port {piece!r} is not a port number")
        ports.append(int(piece))
    return tuple(ports)


def build_spec(
    monitor: SpecSource, *, region: str, scheduled_at: str, headers: Sequence[tuple[str, str]] | None = None
) -> CheckSpec:
    """The spec one region runs for one round. ``scheduled_at`` is the round's ISO key.

    ``headers`` is the monitor's [(name, value)] list; the tick prefetches them in one query.
    """
    kind = REGISTRY.get(monitor.monitor_type)
    if kind is None:
        raise UnbuildableMonitor(f"unknown monitor_type {monitor.monitor_type!r}")
    if headers is None:
        headers = list(
            MonitorRequestHeader.objects.filter(monitor_id=monitor.pk).order_by("id").values_list("name", "value")
        )
    auth = (monitor.auth_username, monitor.auth_password) if monitor.auth_username else None
    return CheckSpec(
        monitor_id=monitor.pk,
        scheduled_at=scheduled_at,
        type=monitor.monitor_type,
        target=monitor.url,
        region=region,
        team_id=monitor.team_id,
        timeout=check_timeout_seconds(monitor.monitor_type, monitor.request_timeout, monitor.check_frequency),
        method=(monitor.http_method or "get").upper(),
        headers=tuple((name, value) for name, value in headers),
        # For dns the name to resolve travels in the body (the target is the server).
        body=monitor.request_body or "",
        auth=auth,
        expected_status_codes=tuple(int(code) for code in (monitor.expected_status_codes or ())),
        keyword=monitor.required_keyword or "",
        ports=parse_ports(monitor.port, monitor.monitor_type)
        if kind.needs_port or monitor.port or monitor.monitor_type in DEFAULT_PORTS
        else (),
        follow_redirects=monitor.follow_redirects,
        max_redirects=monitor.max_redirects,
        remember_cookies=monitor.remember_cookies,
        verify_ssl=monitor.verify_ssl,
        ip_version=monitor.ip_version or "",
        ssl_expiration_days=monitor.ssl_expiration,
    )
