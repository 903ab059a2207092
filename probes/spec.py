"""The probe contract: a check spec in, an outcome out. Both are plain, JSON-safe values.

The scheduler (monitors/) builds specs from Monitor rows; a region worker runs them and
sends outcomes to the aggregator. Nothing here knows Django: region workers have no
database, only the broker.
"""

from dataclasses import asdict, dataclass, field, fields

UP = "up"
DOWN = "down"
ERROR = "error"

PHASES = ("name_lookup", "connect", "tls_handshake", "processing", "transfer")


@dataclass(frozen=True)
class CheckSpec:
    monitor_id: int
    scheduled_at: str  # ISO 8601 UTC; with monitor_id it names the round
    type: str  # a monitor_type of API.md
    target: str  # URL, host or host:port; for dns the server to ask
    region: str = ""
    timeout: float = 30.0  # whole-check deadline in seconds (units already converted)
    method: str = "GET"
    headers: tuple = ()  # ((name, value), …)
    body: str = ""
    auth: tuple | None = None  # (username, password) for HTTP basic auth
    expected_status_codes: tuple = ()  # empty: any 2xx is up
    keyword: str = ""  # keyword / keyword_absence / udp expectation; dns: the name to resolve
    ports: tuple = ()  # tcp/udp/smtp/pop/imap
    follow_redirects: bool = True
    max_redirects: int = 10
    remember_cookies: bool = True
    verify_ssl: bool = True
    ip_version: str = ""  # "", "ipv4" or "ipv6"
    ssl_expiration_days: int | None = None  # days of warning before a certificate expires

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
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
    phases: dict = field(default_factory=dict)  # PHASES → seconds
    remote_ip: str = ""
    tls_expires_at: str | None = None  # ISO 8601 UTC
    tls_issuer: str = ""
    response_excerpt: str = ""  # first 500 bytes of a failing response
    checked_at: str = ""  # ISO 8601 UTC, when the probe finished

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def batch_message(*, region, specs, expires_at):
    """The body of one message to ``probe.<region>``."""
    return {"region": region, "expires_at": expires_at, "specs": [s.to_dict() for s in specs]}


def results_message(*, region, outcomes, loop_lag=None, dropped=0):
    """The body of one message to ``results``: a batch's outcomes and the worker's health."""
    return {
        "region": region,
        "loop_lag": loop_lag,
        "dropped": dropped,
        "outcomes": [o.to_dict() for o in outcomes],
    }
