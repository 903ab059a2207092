"""Running checks: the registry of probes, the per-check deadline, bounded concurrency
shared fairly between teams (probes.fairness).

``Runner.run_check(spec)`` always returns an Outcome, never raises: whatever happens to
one check (its deadline, a refused address, a bug, no slot before its round's deadline,
its monitor paused or deleted meanwhile) is that check's outcome and must not take the
rest of its batch down.
"""

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from probes import dns, http, icmp, mail, tcp, udp
from probes.failures import ProbeError, ProbeFailure, classify, timeout_cause
from probes.fairness import FairSlots
from probes.guard import AddressPolicy
from probes.spec import DOWN, ERROR, UP, CheckSpec, Outcome
from probes.timing import Trace, total_of
from probes.tls import client_context
from probes.transport import BODY_LIMIT, ProbeTransport

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 500
SHUTTING_DOWN = "Probe cancelled: worker shutting down"
OVERLOADED = "Not run: the region worker was overloaded (no free slot before the round's deadline)"
WITHDRAWN = "Not run: the monitor was paused or deleted"
DEFAULT_TIMEOUT = 30.0  # seconds, for a spec that carries no usable deadline
# The longest a check may run whatever its spec says: a spec from an old control plane
# could carry a request_timeout of 2^31 s and hold a slot for ever. The control plane's
# own ranges (monitors.types: HTTP types up to 60 s, the others up to 5 s) stay within
# these; tests/probes/test_timeouts.py holds the two to each other.
HTTP_TIMEOUT_CEILING = 60.0
OTHER_TIMEOUT_CEILING = 5.0

# One entry per monitor type of docs/api.md; monitors/types.py validates against the same names.
# A probe: (spec, context, trace, outcome) -> None, raising ProbeFailure or any error.
Probe = Callable[[CheckSpec, "ProbeContext", Trace, Outcome], Awaitable[None]]

PROBES: dict[str, Probe] = {
    "status": http.probe_http,
    "expected_status_code": http.probe_http,
    "keyword": http.probe_http,
    "keyword_absence": http.probe_http,
    "tcp": tcp.probe_tcp,
    "udp": udp.probe_udp,
    "ping": icmp.probe_ping,
    "dns": dns.probe_dns,
    "smtp": mail.probe_mail,
    "pop": mail.probe_mail,
    "imap": mail.probe_mail,
}


class ProbeContext:
    """What every check of one worker shares: its region, the guard setting, TLS contexts
    and the HTTP transport. Build it once per process (SSL contexts are expensive).

    ``allow_private_targets`` defaults to the worker's PHAROS_ALLOW_PRIVATE_TARGETS and
    ``allowed_networks`` lists exceptions to the guard (see guard.AddressPolicy);
    ``ca_file`` replaces the public CA bundle and ``implicit_tls_ports`` the mail ports
    spoken over TLS from the first byte (tests use both for their own servers).
    """

    def __init__(
        self,
        *,
        region: str,
        allow_private_targets: bool | None = None,
        allowed_networks: Iterable[str] | None = None,
        ca_file: str | None = None,
        body_limit: int = BODY_LIMIT,
        implicit_tls_ports: Iterable[int] = mail.IMPLICIT_TLS_PORTS,
    ) -> None:
        self.region = region
        self.address_policy = AddressPolicy(allow_private=allow_private_targets, allowed_networks=allowed_networks)
        self.user_agent = http.user_agent(region)
        self.verified_context = client_context(verify=True, ca_file=ca_file)
        self.unverified_context = client_context(verify=False)
        self.http_transport = ProbeTransport(
            verified_context=self.verified_context,
            unverified_context=self.unverified_context,
            address_policy=self.address_policy,
            body_limit=body_limit,
        )
        self.implicit_tls_ports = frozenset(implicit_tls_ports)

    def ssl_context(self, *, verify: bool) -> ssl.SSLContext:
        return self.verified_context if verify else self.unverified_context


def timeout_ceiling(monitor_type: str) -> float:
    return HTTP_TIMEOUT_CEILING if PROBES.get(monitor_type) is http.probe_http else OTHER_TIMEOUT_CEILING


def deadline_of(spec: CheckSpec) -> float:
    """Every check is bounded: a missing, zero or negative timeout means the default, and
    no timeout exceeds its type's ceiling."""
    timeout = spec.timeout
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0):
        timeout = DEFAULT_TIMEOUT
    return min(float(timeout), timeout_ceiling(spec.type))


def scheduled_epoch(spec: CheckSpec) -> float | None:
    try:
        moment = datetime.fromisoformat(str(spec.scheduled_at).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def team_of(spec: CheckSpec) -> int | str | None:
    """The team whose share a check counts against; anything odd in a spec shares one queue."""
    team = spec.team_id
    return team if isinstance(team, (int, str)) and not isinstance(team, bool) else None


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Runner:
    def __init__(self, context: ProbeContext, *, concurrency: int) -> None:
        self.context = context
        self.concurrency = concurrency
        self.slots = FairSlots(concurrency)
        self.running: dict[
            asyncio.Future[Outcome], CheckSpec
        ] = {}  # check task -> its spec, so a stopping worker can cut them short
        self.cut_short: dict[
            asyncio.Future[Any] | None, str
        ] = {}  # check task -> why it was cancelled (default: shutting down)
        # monitor id -> epoch seconds it was paused or deleted (probes.withdrawn): checks
        # of rounds scheduled until then are not started, and cut short if running.
        self.withdrawn: Mapping[int, float] = {}

    async def run_check(self, spec: CheckSpec, *, start_by: float | None = None) -> Outcome:
        """One check's outcome. ``start_by`` (loop time): the latest moment it may still
        get a slot; later, it is not run and says the worker was overloaded."""
        if self.is_withdrawn(spec):
            return self.not_run(spec.monitor_id, spec.scheduled_at, WITHDRAWN)
        # The deadline starts when the check gets its slot, not while it queues for one:
        # queueing is the worker's delay, not the target's.
        team = team_of(spec)
        try:
            granted = await self.slots.acquire(team, start_by=start_by)
        except asyncio.CancelledError:
            # Cancelled while still queued for a slot: the worker is stopping, or the
            # monitor was withdrawn.
            return self.not_run(spec.monitor_id, spec.scheduled_at, self._cancel_cause())
        if not granted:
            return self.not_run(spec.monitor_id, spec.scheduled_at, OVERLOADED)
        try:
            if self.is_withdrawn(spec):
                return self.not_run(spec.monitor_id, spec.scheduled_at, WITHDRAWN)
            return await self._run(spec)
        finally:
            self.slots.release(team)

    def is_withdrawn(self, spec: CheckSpec) -> bool:
        if not self.withdrawn or not isinstance(spec.monitor_id, int):
            return False
        withdrawn_at = self.withdrawn.get(spec.monitor_id)
        if withdrawn_at is None:
            return False
        scheduled = scheduled_epoch(spec)
        # A round scheduled after the withdrawal belongs to a monitor resumed since.
        return scheduled is None or scheduled <= withdrawn_at

    def withdraw(self, withdrawn: Mapping[int, float]) -> None:
        """Adopt a new set of withdrawn monitors and cut their checks short, waiting or
        running (each ends as a "not run" ERROR outcome). Call on the loop."""
        self.withdrawn = withdrawn
        for task, spec in list(self.running.items()):
            if not task.done() and self.is_withdrawn(spec):
                self.cut_short[task] = WITHDRAWN
                task.cancel()

    def _cancel_cause(self) -> str:
        return self.cut_short.pop(asyncio.current_task(), SHUTTING_DOWN)

    async def _run(self, spec: CheckSpec) -> Outcome:
        outcome = Outcome(
            monitor_id=spec.monitor_id, scheduled_at=spec.scheduled_at, region=self.context.region, status=UP
        )
        trace = Trace()
        excerpt: bytes | str = b""
        probe = PROBES.get(spec.type)
        try:
            if probe is None:
                raise ProbeError(f"Unknown monitor type {spec.type!r}")
            async with asyncio.timeout(deadline_of(spec)):
                await probe(spec, self.context, trace, outcome)
        except TimeoutError:
            outcome.status, outcome.cause = DOWN, timeout_cause(deadline_of(spec))
        except ProbeFailure as failure:
            outcome.status, outcome.cause = failure.status, failure.cause
            excerpt = failure.excerpt
        except asyncio.CancelledError:
            # The worker is stopping (or the monitor was withdrawn): say so rather than
            # vote against the target.
            outcome.status, outcome.cause = ERROR, self._cancel_cause()
        except Exception as exc:
            outcome.status, outcome.cause = classify(exc)
            if outcome.status == ERROR:
                logger.exception(
                    "probe of monitor %s (%s) failed",
                    spec.monitor_id,
                    spec.type,
                    extra={"monitor": spec.monitor_id, "round": spec.scheduled_at, "region": self.context.region},
                )
        finally:
            trace.stop()
        if isinstance(excerpt, str):
            excerpt = excerpt.encode()
        outcome.response_excerpt = excerpt[:EXCERPT_BYTES].decode("utf-8", "replace")
        outcome.phases = trace.rounded_phases()
        outcome.response_time = total_of(outcome.phases)
        outcome.remote_ip = trace.remote_ip
        outcome.tls_expires_at = trace.tls_expires_at
        outcome.tls_issuer = trace.tls_issuer
        outcome.checked_at = utc_now_iso()
        return outcome

    async def run_batch(self, spec_dicts: Iterable[Any], *, start_by: float | None = None) -> list[Outcome]:
        """Outcomes for a batch's specs (plain dicts), run concurrently within the bound;
        ``start_by`` as for ``run_check``."""
        checks: list[asyncio.Future[Outcome]] = []
        outcomes: list[Outcome] = []
        for data in spec_dicts:
            try:
                spec = CheckSpec.from_dict(data)
            except (TypeError, ValueError, AttributeError) as exc:
                outcomes.append(self.malformed(data, exc))
                continue
            task = asyncio.ensure_future(self.run_check(spec, start_by=start_by))
            self.running[task] = spec
            task.add_done_callback(self._forget_task)
            checks.append(task)
        outcomes.extend(await asyncio.gather(*checks))
        return outcomes

    def _forget_task(self, task: asyncio.Future[Outcome]) -> None:
        self.running.pop(task, None)
        self.cut_short.pop(task, None)

    def cancel_all(self) -> None:
        """Cut every running check short: each ends as an ERROR outcome ("worker shutting
        down") and its batch is still published."""
        for task in list(self.running):
            task.cancel()

    def malformed(self, data: Any, exc: Exception) -> Outcome:
        data = data if isinstance(data, dict) else {}
        logger.error(
            "malformed check spec %r: %s",
            data,
            exc,
            extra={"monitor": data.get("monitor_id"), "round": data.get("scheduled_at"), "region": self.context.region},
        )
        return self.not_run(data.get("monitor_id"), data.get("scheduled_at", ""), f"Malformed check spec: {exc}")

    def not_run(self, monitor_id: Any, scheduled_at: str, cause: str) -> Outcome:
        return Outcome(
            monitor_id=monitor_id,
            scheduled_at=scheduled_at,
            region=self.context.region,
            status=ERROR,
            cause=cause,
            checked_at=utc_now_iso(),
        )


class LagMeter:
    """Event-loop lag: how late a timer set every ``interval`` seconds actually fires.

    A saturated loop delays every callback, and with them the phase timestamps; the lag
    reported next to a batch says how much of its timings may be the worker's own queueing.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, interval: float = 0.05, keep: int = 1200) -> None:
        self.loop = loop
        self.interval = interval
        self.samples: deque[tuple[float, float]] = deque(maxlen=keep)  # (loop time, lag seconds)
        self.expected = 0.0
        self.handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.expected = self.loop.time() + self.interval
        self.handle = self.loop.call_at(self.expected, self._tick)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()

    def _tick(self) -> None:
        now = self.loop.time()
        self.samples.append((now, max(0.0, now - self.expected)))
        self.expected = now + self.interval
        self.handle = self.loop.call_at(self.expected, self._tick)

    def worst_between(self, start: float, end: float) -> float:
        """The largest lag sampled in [start, end] (loop time), or the latest sample."""
        worst: float | None = None
        for at, lag in reversed(self.samples):
            if at < start:
                break
            if at <= end:
                worst = lag if worst is None else max(worst, lag)
        if worst is None and self.samples:
            worst = self.samples[-1][1]
        return round(worst, 6) if worst is not None else 0.0
