"""The trace of one check: where its time went and what it learned about the far end.

A check walks through the phases of ``probes.spec.PHASES`` in order (possibly more than
once, e.g. one round per redirect hop). ``enter(phase)`` closes the phase in progress and
opens the next, so every instant between the first ``enter`` and ``stop`` belongs to
exactly one phase and the phases add up to the response time by construction. A check
cut short by its deadline still reports the time spent in the phase it was stuck in.
"""

from datetime import datetime
from time import perf_counter

from probes.spec import PHASES

DIGITS = 6  # microseconds: finer than any network phase, coarse enough to stay readable


class Trace:
    __slots__ = ("phases", "current", "since", "remote_ip", "tls_expires_at", "tls_issuer", "tls_not_after")

    def __init__(self) -> None:
        self.phases: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.current: str | None = None
        self.since = 0.0
        self.remote_ip = ""
        self.tls_expires_at: str | None = None  # ISO 8601 UTC
        self.tls_issuer = ""
        self.tls_not_after: datetime | None = None  # aware datetime, for the expiry verdict

    def enter(self, phase: str) -> None:
        now = perf_counter()
        if self.current is not None:
            self.phases[self.current] += now - self.since
        self.current = phase
        self.since = now

    def stop(self) -> None:
        if self.current is not None:
            self.phases[self.current] += perf_counter() - self.since
            self.current = None

    def rounded_phases(self) -> dict[str, float]:
        return {name: round(seconds, DIGITS) for name, seconds in self.phases.items()}


def total_of(phases: dict[str, float]) -> float:
    """The response time reported next to ``phases``: their sum, so the two always agree."""
    return round(sum(phases.values()), DIGITS)
