"""The watchdog: Pharos watching itself from outside the parts that can get stuck.

``manage.py watchdog`` runs as a process of its own (in ``make run``, compose, Kubernetes
and systemd; exactly one per deployment). Every ``PHAROS_WATCHDOG_INTERVAL`` seconds
(15) it evaluates the services report of ``/api/healthcheck?services=true`` in-process
(config.health: database, broker, regions, aggregator, scheduler, sweep, delivery,
rounds) and

1. mails the operators (config.operators) straight over SMTP — never through the alert
   queue or the outbox, which may be the very part that is stuck — once when a condition
   starts failing and once when it clears. A mail that cannot be sent is tried again at
   the next evaluation;
2. requests ``PHAROS_WATCHDOG_URL``, when set, at most every
   ``PHAROS_WATCHDOG_PING_INTERVAL`` seconds (60) while nothing fails, and not otherwise:
   a dead man's switch for an outside heartbeat service (another Pharos, Healthchecks.io,
   Better Stack), the way Alertmanager's always-firing Watchdog alert is used. When the
   pings stop, something is wrong — a failing part, or the watchdog, or the whole host.

For its first ``PHAROS_WATCHDOG_GRACE`` seconds (60) it mails nobody: the processes
started beside it are still coming up (a region worker's first results, the first tick),
and a condition that is still failing after the grace is mailed then.

The evaluation runs on a thread of its own: one that outlasts the interval (a database
that hangs) is reported as the condition ``watchdog`` instead of stalling the loop.
"""

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection

from config.health import services_report
from config.operators import operator_emails

log = logging.getLogger(__name__)

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
PING_TIMEOUT = 10.0
STUCK = "watchdog"  # the condition of an evaluation that did not finish in time


@dataclass
class Evaluation:
    failing: list[str]
    details: dict[str, str]
    operators: list[str]


@dataclass
class Step:
    """What one step did (for logs and tests)."""

    failing: list[str]
    raised: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    pinged: bool = False


def evaluate(*, timeout: float) -> Evaluation:
    """The services report and who to tell, on the calling thread (with a database
    connection of its own for the evaluation only: one every 15 s costs nothing, and a
    connection broken by a database restart is never reused)."""
    try:
        return _evaluate_with(timeout)
    finally:
        connection.close()


def _evaluate_with(timeout: float) -> Evaluation:
    from django.utils import timezone

    if connection.vendor == "postgresql":
        try:
            with connection.cursor() as cursor:
                # A query stuck behind a lock must not hold the watchdog past its interval.
                cursor.execute("SET statement_timeout = %s", [max(1, int(timeout * 1000))])
        except Exception:  # noqa: BLE001 - the report names the database when it is down
            connection.close_if_unusable_or_obsolete()
    report = services_report(now=timezone.now())
    details = {}
    for name in report["failing"]:
        part, _, region = name.partition(":")
        check = report["checks"]["regions"].get(region, {}) if part == "region" else report["checks"].get(part, {})
        details[name] = str(check.get("detail", ""))
    try:
        operators = operator_emails()
    except Exception:  # noqa: BLE001 - no database: the caller keeps the last list it had
        operators = []
    return Evaluation(failing=list(report["failing"]), details=details, operators=operators)


class Watchdog:
    def __init__(
        self,
        *,
        interval: float | None = None,
        ping_url: str | None = None,
        ping_interval: float | None = None,
        grace: float | None = None,
    ) -> None:
        self.interval = settings.PHAROS_WATCHDOG_INTERVAL if interval is None else interval
        self.ping_url = settings.PHAROS_WATCHDOG_URL if ping_url is None else ping_url
        self.ping_interval = settings.PHAROS_WATCHDOG_PING_INTERVAL if ping_interval is None else ping_interval
        self.grace_ends = time.monotonic() + (settings.PHAROS_WATCHDOG_GRACE if grace is None else grace)
        self.announced: set[str] = set()  # conditions the operators were told about
        self.details: dict[str, str] = {}
        # Who was told last time; before any evaluation (or while the database cannot say)
        # the configured addresses, which need no database.
        self.operators: list[str] = list(settings.PHAROS_OPERATOR_EMAIL)
        self.last_ping: float | None = None
        self.unsent: set[str] = set()  # subjects of mails that failed (logged once)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pharos-watchdog-evaluate")
        self.pending: Future | None = None

    # --- one evaluation ---------------------------------------------------------------------

    def step(self) -> Step:
        evaluation = self._evaluate()
        failing = set(evaluation.failing)
        step = Step(failing=sorted(failing))
        raised = sorted(failing - self.announced)
        if raised and time.monotonic() < self.grace_ends:
            # Still starting up: mailed at the first evaluation after the grace if it lasts.
            log.debug("watchdog: %s failing during the start-up grace", ", ".join(raised))
            raised = []
        cleared = sorted(self.announced - failing)
        if raised and self._mail_failing(raised, evaluation):
            self.announced |= set(raised)
            step.raised = raised
        if cleared and self._mail_recovered(cleared, evaluation):
            self.announced -= set(cleared)
            step.cleared = cleared
        if not failing:
            step.pinged = self._ping_when_due()
        log.debug("watchdog: failing %s", step.failing or "nothing")
        return step

    def _evaluate(self) -> Evaluation:
        if self.pending is None:
            # The statement timeout outlasts the wait below, so a hang shows as a late evaluation.
            self.pending = self.pool.submit(evaluate, timeout=2 * self.interval)
        try:
            evaluation = self.pending.result(timeout=self.interval)
        except TimeoutError:
            # Still running: leave it be (a thread cannot be killed) and say so.
            return Evaluation(
                failing=[STUCK],
                details={STUCK: f"the health evaluation has not finished within {self.interval:g} s"},
                operators=self.operators,
            )
        except Exception as error:  # noqa: BLE001
            self.pending = None
            log.warning("watchdog: the health evaluation failed: %s", error, exc_info=True)
            return Evaluation(
                failing=[STUCK],
                details={STUCK: f"the health evaluation failed ({type(error).__name__})"},
                operators=self.operators,
            )
        self.pending = None
        if evaluation.operators:
            self.operators = evaluation.operators
        else:
            evaluation.operators = self.operators
        return evaluation

    # --- telling people -----------------------------------------------------------------------

    def _mail_failing(self, raised: list[str], evaluation: Evaluation) -> bool:
        lines = [f"Pharos is not working as it should. Newly failing: {', '.join(raised)}.", ""]
        lines += [f"- {name}: {evaluation.details.get(name, '')}" for name in evaluation.failing]
        lines += ["", f"The whole report: {settings.PHAROS_BASE_URL}/api/healthcheck?services=true"]
        log.warning("watchdog: failing %s", ", ".join(raised), extra={"failing": raised})
        return self._mail(f"[Pharos] failing: {', '.join(raised)}", "\n".join(lines), evaluation.operators)

    def _mail_recovered(self, cleared: list[str], evaluation: Evaluation) -> bool:
        lines = [f"Recovered: {', '.join(cleared)}."]
        if evaluation.failing:
            lines.append(f"Still failing: {', '.join(evaluation.failing)}.")
        else:
            lines.append("Everything the watchdog checks passes again.")
        log.info("watchdog: recovered %s", ", ".join(cleared), extra={"recovered": cleared})
        return self._mail(f"[Pharos] recovered: {', '.join(cleared)}", "\n".join(lines), evaluation.operators)

    def _mail(self, subject: str, body: str, recipients: list[str]) -> bool:
        if not recipients:
            log.warning("watchdog: nobody to tell (set PHAROS_OPERATOR_EMAIL): %s", subject)
            return True
        try:
            with get_connection(SMTP_BACKEND, timeout=settings.EMAIL_TIMEOUT) as smtp:
                EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, connection=smtp).send()
        except Exception as error:  # noqa: BLE001 - tried again at the next evaluation
            # Said once per mail, not at every retry (every PHAROS_WATCHDOG_INTERVAL).
            level = logging.DEBUG if subject in self.unsent else logging.ERROR
            log.log(level, "watchdog: could not mail the operators (%s): %s", subject, error)
            self.unsent.add(subject)
            return False
        self.unsent.discard(subject)
        return True

    def _ping_when_due(self) -> bool:
        if not self.ping_url:
            return False
        now = time.monotonic()
        if self.last_ping is not None and now - self.last_ping < self.ping_interval:
            return False
        try:
            response = httpx.get(self.ping_url, timeout=PING_TIMEOUT, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("watchdog: the watchdog URL did not answer: %s", error)
            return False
        self.last_ping = now
        return True

    # --- the process --------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        log.info(
            "watchdog: evaluating every %g s; pinging %s",
            self.interval,
            "the watchdog URL" if self.ping_url else "nothing (PHAROS_WATCHDOG_URL unset)",
        )
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the watchdog must outlive its own bugs
                log.exception("watchdog: step failed")
            stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        self.close()

    def close(self) -> None:
        """Stop the evaluation thread (one still stuck ends, and closes its connection, when
        its statement times out)."""
        self.pool.shutdown(wait=False, cancel_futures=True)
