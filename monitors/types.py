"""The registry of monitor types: one entry per type, each with its probe kind and the
range of its ``request_timeout`` (docs/api.md: seconds for HTTP types, milliseconds otherwise).

An unknown type fails validation here rather than becoming a monitor no probe can run.

The timeout rule lives here once, for the API, the admin, the data migration that
clamped old rows and the spec every round is built from:

- a timeout lies within its type's range (Better Stack's: HTTP types 2–60 s; tcp, udp,
  ping, dns, smtp, pop, imap 500–5,000 ms);
- it never exceeds the check frequency — unless the frequency is below the type's
  smallest timeout, when the smallest timeout is the only one left;
- a timeout nobody sent (omitted on create, or stored and untouched by a PATCH) follows
  a lower frequency down instead of making the write fail (``bounded_timeout``); one
  that was sent and breaks the rule is a 422 (``timeout_error``).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TimeoutRange:
    per_second: int  # units of request_timeout in one second
    unit_name: str
    low: int
    high: int
    default: int

    @property
    def unit(self) -> float:
        """Seconds per unit of request_timeout."""
        return 1 / self.per_second


SECONDS = TimeoutRange(per_second=1, unit_name="seconds", low=2, high=60, default=30)
MILLISECONDS = TimeoutRange(per_second=1000, unit_name="milliseconds", low=500, high=5000, default=5000)


@dataclass(frozen=True)
class MonitorType:
    name: str
    probe: str  # the probe family in probes/ that runs it
    timeout: TimeoutRange
    needs_keyword: bool = False
    needs_port: bool = False

    @property
    def timeout_unit(self) -> float:
        return self.timeout.unit


_TYPES = [
    MonitorType("status", "http", SECONDS),
    MonitorType("expected_status_code", "http", SECONDS),
    MonitorType("keyword", "http", SECONDS, needs_keyword=True),
    MonitorType("keyword_absence", "http", SECONDS, needs_keyword=True),
    MonitorType("tcp", "tcp", MILLISECONDS, needs_port=True),
    MonitorType("udp", "udp", MILLISECONDS, needs_keyword=True, needs_port=True),
    MonitorType("ping", "ping", MILLISECONDS),
    MonitorType("dns", "dns", MILLISECONDS),
    MonitorType("smtp", "smtp", MILLISECONDS),
    MonitorType("pop", "pop", MILLISECONDS),
    MonitorType("imap", "imap", MILLISECONDS),
]

REGISTRY = {t.name: t for t in _TYPES}
MONITOR_TYPES = tuple(REGISTRY)
HTTP_TYPES = tuple(t.name for t in _TYPES if t.probe == "http")
HTTP_METHODS = ("get", "head", "post", "put", "patch")
ALERT_DAYS = (1, 2, 3, 7, 14, 30, 60)
DEFAULT_PORTS = {"smtp": "25", "pop": "110", "imap": "143"}


def timeout_seconds(monitor_type: str, request_timeout: float) -> float:
    """``request_timeout`` of a type, in seconds (no bounds applied)."""
    return request_timeout / REGISTRY[monitor_type].timeout.per_second


def timeout_range(monitor_type: str) -> TimeoutRange:
    return REGISTRY[monitor_type].timeout


def timeout_ceiling(monitor_type: str, check_frequency: int) -> int:
    """The largest timeout (in the type's unit) a monitor checked every ``check_frequency``
    seconds may have: the type's maximum, lowered to the frequency, never below the minimum."""
    limits = timeout_range(monitor_type)
    frequency_in_units = check_frequency * limits.per_second if check_frequency > 0 else limits.low
    return max(limits.low, min(limits.high, frequency_in_units))


def bounded_timeout(monitor_type: str, request_timeout: int | None, check_frequency: int) -> int:
    """A timeout nobody sent, brought within the rule: the type's default when there is
    none, then clamped into the range and under the frequency."""
    limits = timeout_range(monitor_type)
    value = limits.default if request_timeout is None else request_timeout
    return max(limits.low, min(value, timeout_ceiling(monitor_type, check_frequency)))


def timeout_error(monitor_type: str, request_timeout: int, check_frequency: int) -> str | None:
    """Why a timeout that was sent breaks the rule, or None when it keeps it."""
    limits = timeout_range(monitor_type)
    if not limits.low <= request_timeout <= limits.high:
        return f"must be between {limits.low} and {limits.high} {limits.unit_name} for {monitor_type} monitors"
    ceiling = timeout_ceiling(monitor_type, check_frequency)
    if request_timeout > ceiling:
        return (
            f"must not exceed check_frequency ({check_frequency} s), "
            f"so at most {ceiling} {limits.unit_name} for {monitor_type} monitors"
        )
    return None


def converted_timeout(request_timeout: int, *, from_type: str, to_type: str) -> int:
    """A stored timeout re-expressed in another type's unit (a PATCH of monitor_type)."""
    source, target = timeout_range(from_type), timeout_range(to_type)
    return round(request_timeout * target.per_second / source.per_second)


def check_timeout_seconds(monitor_type: str, request_timeout: int, check_frequency: int) -> float:
    """The deadline a round's check runs under, in seconds: the stored timeout within the
    rule. Rows written around the API (the admin of an older version, the ORM, a restored
    backup) are held to the rule here, where every spec and round deadline is computed."""
    return timeout_seconds(monitor_type, bounded_timeout(monitor_type, request_timeout, check_frequency))
