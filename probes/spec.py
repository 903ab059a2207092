"""The probe contract: a check spec in, an outcome out. Both are plain, JSON-safe values.

The scheduler (monitors/) builds specs from Monitor rows; a region worker runs them and
sends outcomes to the aggregator. Nothing here knows Django: region workers have no
database, only the broker.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

UP = "up"
DOWN = "down"
ERROR = "error"

PHASES = ("name_lookup", "connect", "tls_handshake", "processing", "transfer")


@dataclass(frozen=True)
class CheckSpec:
    """One check to run from one region.

    Per type: HTTP types use ``target`` (a URL), ``method``, ``headers``, ``body``,
    ``auth``, ``expected_status_codes`` (``expected_status_code`` and the keyword types),
    ``keyword``, redirect/cookie/TLS options and ``ip_version``. ``tcp``/``udp``/``smtp``/
    ``pop``/``imap`` use ``target`` (host, or host:port) and ``ports`` (ints or "25,465"
    strings; mail types default to 25/110/143, implicit TLS on 465/993/995); ``udp`` sends
    ``body`` and expects ``keyword`` in the reply. ``ping`` uses the host in ``target``.
    ``dns`` asks the server in ``target`` (host[:port], default 53) for the name in
    ``body`` (the monitor's ``request_body``; "name TYPE" picks a record type, A by
    default), falling back to ``keyword`` when ``body`` is empty; with both set, the
    keyword must appear in an answer. ``ssl_expiration_days`` turns a certificate that
    expires within that many days into a DOWN outcome.
    """

    monitor_id: int
    scheduled_at: str  # ISO 8601 UTC; with monitor_id it names the round
    type: str  # a monitor_type of docs/api.md
    target: str  # URL, host or host:port; for dns the server to ask
    region: str = ""
    timeout: float = 30.0  # whole-check deadline in seconds (units already converted)
    # The monitor's team: a region worker shares its slots fairly between teams
    # (probes.fairness). None from a control plane that predates it: one shared queue.
    team_id: int | None = None
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()  # ((name, value), …)
    body: str = ""
    auth: tuple[str, str] | None = None  # (username, password) for HTTP basic auth
    expected_status_codes: tuple[int, ...] = ()  # empty: any 2xx is up
    keyword: str = ""  # keyword / keyword_absence / udp expectation; dns: see below
    ports: tuple[int | str, ...] = ()  # tcp/udp/smtp/pop/imap
    follow_redirects: bool = True
    max_redirects: int = 10
    remember_cookies: bool = True
    verify_ssl: bool = True
    ip_version: str = ""  # "", "ipv4" or "ipv6"
    ssl_expiration_days: int | None = None  # days of warning before a certificate expires

    def to_dict(self) -> dict[str, Any]:
        # Every field is immutable (str, number, tuple), so a shallow dict is a faithful
        # copy; asdict's deep copy cost ~30 us per spec on the probe path.
        return {name: getattr(self, name) for name in _SPEC_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckSpec":
        values = {k: v for k, v in data.items() if k in _SPEC_FIELDS}
        for name in ("headers", "ports", "expected_status_codes"):
            if name in values:
                values[name] = tuple(tuple(v) if isinstance(v, list) else v for v in values[name])
        if values.get("auth") is not None:
            values["auth"] = tuple(values["auth"])
        return cls(**values)


@dataclass
class Outcome:
    monitor_id: int
    scheduled_at: str
    region: str
    status: str  # UP, DOWN or ERROR
    cause: str = ""  # human words: "Status 503", "Timeout after 5 s", "Connection refused", …
    status_code: int | None = None
    response_time: float | None = None  # seconds, the sum of the phases
    phases: dict[str, float] = field(default_factory=dict)  # PHASES → seconds
    remote_ip: str = ""
    tls_expires_at: str | None = None  # ISO 8601 UTC
    tls_issuer: str = ""
    response_excerpt: str = ""  # first 500 bytes of a failing response
    checked_at: str = ""  # ISO 8601 UTC, when the probe finished

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _OUTCOME_FIELDS}
        data["phases"] = dict(self.phases)  # the one mutable field: copy, as asdict did
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Outcome":
        return cls(**{k: v for k, v in data.items() if k in _OUTCOME_FIELDS})


_SPEC_FIELDS = dict.fromkeys(f.name for f in fields(CheckSpec))  # ordered, O(1) lookups
_OUTCOME_FIELDS = dict.fromkeys(f.name for f in fields(Outcome))


def batch_message(*, region: str, specs: Iterable[CheckSpec], expires_at: str) -> dict[str, Any]:
    """The body of one message to ``probe.<region>``."""
    return {"region": region, "expires_at": expires_at, "specs": [s.to_dict() for s in specs]}


def results_message(
    *, region: str, outcomes: Iterable[Outcome], loop_lag: float | None = None, dropped: int = 0
) -> dict[str, Any]:
    """The body of one message to ``results``: a batch's outcomes and the worker's health.

    ``loop_lag``: the worst event-loop lag (seconds) the worker measured while the batch
    ran — large values mean its phase timings include the worker's own queueing.
    ``dropped``: checks of the batch not run because the batch had expired before the
    worker could start it (its outcomes are then empty; those rounds go MISSING).
    """
    return {
        "region": region,
        "loop_lag": loop_lag,
        "dropped": dropped,
        "outcomes": [o.to_dict() for o in outcomes],
    }
