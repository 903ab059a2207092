"""The quorum: a round's votes in, its verdict out. Pure functions, no database.

Each region answers UP, DOWN (the target failed the monitor's expectations), ERROR (the
probe itself failed) or nothing (MISSING by the deadline). Only DOWN counts against the
target. A quarantined region's DOWN counts as ERROR: its own network is the suspect.

- DOWN when DOWN votes ≥ quorum;
- UP when the target answered well from at least one region and DOWN votes < quorum;
- INCONCLUSIVE otherwise (too few regions answered well or badly to tell).
"""

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitors.models import RoundVerdict

UP, DOWN, ERROR = "up", "down", "error"


@dataclass(frozen=True)
class Vote:
    region: str
    outcome: str
    cause: str = ""
    status_code: int | None = None
    response_excerpt: str = ""
    tls_expires_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    kind: str  # RoundVerdict value
    down_regions: tuple[str, ...] = ()
    up_regions: tuple[str, ...] = ()
    error_regions: tuple[str, ...] = ()
    missing_regions: tuple[str, ...] = ()
    cause: str = ""
    status_code: int | None = None
    response_excerpt: str = ""
    note: str = ""
    tls_expires_at: datetime | None = None  # the earliest certificate expiry a DOWN region saw


def quorum_of(regions: Sequence[str], override: int | None) -> int:
    """DOWN votes needed: the monitor's override (capped at its regions) or a majority."""
    return min(override, len(regions)) if override else len(regions) // 2 + 1


def decide(
    *, regions: Sequence[str], quorum: int, votes: Mapping[str, Vote], quarantined: Collection[str] = frozenset()
) -> Verdict:
    """The verdict of one round.

    ``regions``: the round's regions in order; ``votes``: region → Vote (regions absent
    from it are MISSING; votes from regions outside the round are ignored).
    """
    down: list[str] = []
    up: list[str] = []
    error: list[str] = []
    missing: list[str] = []
    for region in regions:
        vote = votes.get(region)
        if vote is None:
            missing.append(region)
        elif vote.outcome == DOWN and region not in quarantined:
            down.append(region)
        elif vote.outcome == UP:
            up.append(region)
        else:
            error.append(region)
    if len(down) >= quorum:
        cause, excerpt, status_code = _majority_cause([votes[r] for r in down])
        expiries = [expiry for r in down if (expiry := votes[r].tls_expires_at) is not None]
        return Verdict(
            RoundVerdict.DOWN,
            tuple(down),
            tuple(up),
            tuple(error),
            tuple(missing),
            cause,
            status_code,
            excerpt,
            tls_expires_at=min(expiries) if expiries else None,
        )
    if up:
        return Verdict(RoundVerdict.UP, tuple(down), tuple(up), tuple(error), tuple(missing))
    note = f"{len(missing)} missing, {len(error)} error, {len(down)} down of {len(regions)} (quorum {quorum})"
    return Verdict(RoundVerdict.INCONCLUSIVE, tuple(down), (), tuple(error), tuple(missing), note=note)


def _majority_cause(down_votes: Sequence[Vote]) -> tuple[str, str, int | None]:
    """The cause most DOWN regions reported, with one failing response that shows it."""
    counts = Counter(vote.cause for vote in down_votes)
    cause = max(counts, key=lambda c: (counts[c], -[v.cause for v in down_votes].index(c)))
    example = next(vote for vote in down_votes if vote.cause == cause)
    return cause or "Down", example.response_excerpt, example.status_code


def lone_failing_region(votes: Mapping[str, Vote], *, regions: Sequence[str]) -> str | None:
    """The region that alone saw DOWN while every other answering region saw UP, or None.

    Raw votes (before quarantine): a quarantined region keeps proving it is still broken.
    """
    down = [r for r in regions if r in votes and votes[r].outcome == DOWN]
    up = [r for r in regions if r in votes and votes[r].outcome == UP]
    answered = [r for r in regions if r in votes]
    if len(down) == 1 and up and len(down) + len(up) == len(answered):
        return down[0]
    return None
