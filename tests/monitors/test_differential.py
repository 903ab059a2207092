"""Closing rounds in a batch (monitors.rounds) against the state machine, on PostgreSQL.

Two monitors start alike. Hypothesis draws a history — batches of closed rounds (UP,
DOWN, certificate DOWN, inconclusive; several rounds of one monitor in one batch, in any
order), pauses, resumes, incidents resolved by hand and edits of the confirmation and
recovery periods — and applies it to both:

- the *specification*: each round claimed on its own and its verdict applied by
  ``monitors.state.apply_verdict``, oldest round first;
- the *fast path*: ``close_rounds``, which claims the whole batch in one statement and
  advances steady monitors in SQL (``_advance_steady``).

After every step the monitor rows, their rounds and their incidents must be identical.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alerts.incidents import resolve_incident
from alerts.models import Incident
from alerts.pausing import change_pause
from monitors import state
from monitors.models import Monitor, Round, RoundVerdict
from monitors.pausing import MONITOR_PAUSING
from monitors.rounds import close_rounds
from monitors.verdicts import Verdict
from probes import tls
from tests.monitors.conftest import REGIONS, T0

pytestmark = pytest.mark.django_db

MONITOR_COLUMNS = (
    "status",
    "paused_at",
    "failing_since",
    "passing_since",
    "next_check_at",
    "verdict_round_at",
    "last_checked_at",
    "confirmation_period",
    "recovery_period",
)
ROUND_COLUMNS = ("scheduled_at", "closed_at", "verdict", "note")
INCIDENT_COLUMNS = ("kind", "cause", "status", "regions", "started_at", "resolved_at", "resolved_by", "metadata")

VERDICTS = {
    "up": Verdict(kind=RoundVerdict.UP, up_regions=REGIONS, note="3/3 up"),
    "down": Verdict(
        kind=RoundVerdict.DOWN, down_regions=REGIONS[:2], up_regions=REGIONS[2:], cause="Status 503", status_code=503
    ),
    "certificate": Verdict(
        kind=RoundVerdict.DOWN, down_regions=REGIONS, cause=f"{tls.EXPIRY_CAUSE_PREFIX}s in 5 days", note="tls"
    ),
    "inconclusive": Verdict(kind=RoundVerdict.INCONCLUSIVE, missing_regions=REGIONS[:2], note="2 silent"),
}

# UP rounds are the fast path's business: drawn as often as all the others together.
VERDICT_DRAWS = ("up", "up", "up", "down", "certificate", "inconclusive")


@dataclass(frozen=True)
class Batch:
    """Rounds scheduled ``offsets`` seconds after the step's instant, closed together."""

    rounds: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Pause:
    paused: bool


@dataclass(frozen=True)
class ResolveByHand:
    pass


@dataclass(frozen=True)
class EditPeriods:
    confirmation: int
    recovery: int


batches = st.lists(
    st.tuples(st.integers(0, 50), st.sampled_from(VERDICT_DRAWS)), min_size=1, max_size=3, unique_by=lambda r: r[0]
).map(lambda rounds: Batch(tuple(rounds)))
steps = st.one_of(
    batches,
    batches,
    batches,
    st.builds(Pause, st.booleans()),
    st.just(ResolveByHand()),
    st.builds(EditPeriods, st.sampled_from([0, 30, 120]), st.sampled_from([0, 60, 180])),
)
histories = st.lists(st.tuples(st.integers(1, 200), steps), min_size=1, max_size=12)
beginnings = st.sampled_from(["pending", "up"])


def begin(monitor: Monitor, beginning: str) -> None:
    if beginning == "up":
        Monitor.objects.filter(pk=monitor.pk).update(
            status="up", passing_since=T0 - timedelta(hours=1), verdict_round_at=T0 - timedelta(minutes=1)
        )


def close_specified(closures: list, *, now) -> None:
    for round_, verdict, _ in sorted(closures, key=lambda closure: closure[0].scheduled_at):
        if Round.objects.filter(pk=round_.pk, closed_at__isnull=True).update(
            closed_at=now, verdict=verdict.kind, note=verdict.note[:200]
        ):
            state.apply_verdict(
                monitor_id=round_.monitor_id, scheduled_at=round_.scheduled_at, verdict=verdict, now=now
            )


def apply(step, monitor: Monitor, now, *, fast: bool) -> None:
    if isinstance(step, Batch):
        closures = []
        for offset, verdict in step.rounds:
            scheduled_at = now + timedelta(seconds=offset)
            round_ = Round.objects.create(
                monitor=monitor,
                scheduled_at=scheduled_at,
                regions=list(REGIONS),
                dispatched_at=scheduled_at,
                deadline=scheduled_at + timedelta(seconds=30),
            )
            closures.append((round_, VERDICTS[verdict], []))
        closing_at = now + timedelta(seconds=60)  # after every round of the batch
        if fast:
            close_rounds(closures, now=closing_at)
        else:
            close_specified(closures, now=closing_at)
    elif isinstance(step, Pause):
        change_pause(MONITOR_PAUSING, Monitor.objects.get(pk=monitor.pk), paused=step.paused, now=now)
    elif isinstance(step, ResolveByHand):
        for incident in Incident.objects.open().for_source("monitor", monitor.pk):
            resolve_incident(incident.pk, by="someone", now=now)
    elif isinstance(step, EditPeriods):
        Monitor.objects.filter(pk=monitor.pk).update(
            confirmation_period=step.confirmation, recovery_period=step.recovery
        )


def rows(monitor: Monitor) -> dict:
    return {
        "monitor": Monitor.objects.filter(pk=monitor.pk).values(*MONITOR_COLUMNS).get(),
        "rounds": list(Round.objects.filter(monitor=monitor).order_by("scheduled_at").values(*ROUND_COLUMNS)),
        "incidents": list(
            Incident.objects.filter(source_type="monitor", source_id=monitor.pk)
            .order_by("id")
            .values(*INCIDENT_COLUMNS)
        ),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(beginning=beginnings, history=histories)
# Histories random draws reach too rarely in a suite-sized run: an up monitor failing but
# not yet confirmed, then passing again in SQL; a monitor resumed (pending) with its
# outage still open, which an UP round must not pass by in SQL.
@example(
    beginning="pending",
    history=[(1, Batch(((0, "down"),))), (1, Pause(True)), (1, Pause(False)), (1, Batch(((0, "up"),)))],
)
@example(
    beginning="up",
    history=[(1, EditPeriods(confirmation=120, recovery=0)), (1, Batch(((0, "down"),))), (1, Batch(((0, "up"),)))],
)
def test_closing_rounds_in_a_batch_leaves_the_rows_the_state_machine_leaves(team, beginning, history):
    specified, fast = (
        Monitor.objects.create(
            team=team,
            url="https://service.example.com/health",
            check_frequency=30,
            recovery_period=0,
            confirmation_period=0,
            next_check_at=T0,
            regions=list(REGIONS),
        )
        for _ in range(2)
    )
    for monitor in (specified, fast):
        begin(monitor, beginning)
    try:
        now = T0
        for number, (gap, step) in enumerate(history):
            now += timedelta(seconds=gap + 120)  # past the previous batch's rounds and close
            apply(step, specified, now, fast=False)
            apply(step, fast, now, fast=True)
            if isinstance(step, Pause):
                # A resume draws a random phase for the next check (monitors.pausing): the
                # same draw for both, so that what follows can be compared.
                phase = Monitor.objects.filter(pk=specified.pk).values_list("next_check_at", flat=True).get()
                Monitor.objects.filter(pk=fast.pk).update(next_check_at=phase)
            assert rows(fast) == rows(specified), f"after step {number}: {step!r}"
    finally:
        Incident.objects.filter(source_type="monitor", source_id__in=[specified.pk, fast.pk]).delete()
        Monitor.objects.filter(pk__in=[specified.pk, fast.pk]).delete()
