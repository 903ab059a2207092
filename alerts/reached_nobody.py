"""Incidents that reached nobody: recorded on the incident, counted for the console, and
told to the operators once per team.

On a fresh install the admin belongs to no team, so the first incidents page nobody; a
log line was the only trace. Now:

1. Escalation (alerts.escalation) calls ``record`` when the steps it sent found no member
   and no channel and the incident has no alert at all: the incident is marked
   ``reached_nobody`` and, in the same transaction, the team's ``ReachedNobodyNotice`` row
   is inserted if the team has none (the unique team key is the "once per team" claim).
   A later step that does reach someone clears the mark (``reached_someone``).
2. After commit, the ``alerts.tell_operators_reached_nobody`` task mails the operators
   (config.operators: ``PHAROS_OPERATOR_EMAIL``, else the superusers). It first takes a
   lease on the row with a conditional UPDATE, so two workers never both send; a mail
   that fails is tried again by the escalation tick's ``sweep`` once the lease expires.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from alerts.models import TEAM_RECIPIENTS, Incident, Notification, NotificationEvent, ReachedNobodyNotice
from config.operators import operator_emails

log = logging.getLogger(__name__)

# Longer than an SMTP send can take; a failed mail is tried again after it.
LEASE = timedelta(minutes=5)


def incidents_that_reached_nobody() -> QuerySet[Incident]:
    """Incidents escalation could alert nobody about (the console's list and overview)."""
    return Incident.objects.not_deleted().filter(reached_nobody=True)


def open_incidents_that_reached_nobody_count() -> int:
    """How many open incidents paged nobody: the overview's warning figure."""
    return incidents_that_reached_nobody().open().count()


def record(incident: Incident, *, now: datetime) -> bool:
    """Mark ``incident`` as having reached nobody, if it has no alert; returns whether it did.

    Runs in the escalation's transaction; the notice row and the task commit with it.
    """
    if Notification.objects.filter(TEAM_RECIPIENTS, incident=incident, event=NotificationEvent.ALERT).exists():
        return False
    Incident.objects.filter(pk=incident.pk, reached_nobody=False).update(reached_nobody=True, updated_at=now)
    incident.reached_nobody = True
    # ignore_conflicts: the team's first such incident wins the notice; later ones add nothing.
    ReachedNobodyNotice.objects.bulk_create(
        [ReachedNobodyNotice(team_id=incident.team_id, incident=incident, created_at=now, next_attempt_at=now)],
        ignore_conflicts=True,
    )
    team_id = incident.team_id
    # Only while the mail is owed: a team without members must not cost a task per incident.
    if ReachedNobodyNotice.objects.filter(team_id=team_id, told_at__isnull=True).exists():
        transaction.on_commit(lambda: _enqueue([team_id]))
    return True


def reached_someone(incident: Incident, *, now: datetime) -> None:
    """A later step alerted somebody: the incident no longer says it reached nobody."""
    if incident.reached_nobody:
        Incident.objects.filter(pk=incident.pk, reached_nobody=True).update(reached_nobody=False, updated_at=now)
        incident.reached_nobody = False


def tell_operators(team_id: int, *, now: datetime) -> bool:
    """Mail the operators about the team's notice if nobody did yet; returns whether this call did."""
    # The lease: of two callers, one moves next_attempt_at past now and sends.
    claimed = ReachedNobodyNotice.objects.filter(
        team_id=team_id, told_at__isnull=True, next_attempt_at__lte=now
    ).update(next_attempt_at=now + LEASE)
    if not claimed:
        return False
    notice = ReachedNobodyNotice.objects.select_related("team", "incident").get(team_id=team_id)
    recipients = operator_emails()
    if recipients:
        try:
            with get_connection(timeout=settings.EMAIL_TIMEOUT) as mail:
                EmailMessage(
                    f"[Pharos] Incidents of team {notice.team.name} reach nobody",
                    _body(notice),
                    settings.DEFAULT_FROM_EMAIL,
                    recipients,
                    connection=mail,
                ).send()
        except Exception as error:  # noqa: BLE001 - tried again when the lease expires
            log.error("could not tell the operators that team %s reaches nobody: %s", team_id, error)
            return False
    else:
        log.warning("team %s: incidents reach nobody and no operator to tell (set PHAROS_OPERATOR_EMAIL)", team_id)
    ReachedNobodyNotice.objects.filter(team_id=team_id).update(told_at=now)
    log.info("told the operators that incidents of team %s reach nobody", team_id, extra={"team": team_id})
    return bool(recipients)


def sweep(*, now: datetime, limit: int = 50) -> list[int]:
    """Teams whose notice is owed and not leased (a lost enqueue, a failed mail): enqueued again."""
    teams = list(
        ReachedNobodyNotice.objects.filter(told_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("team_id", flat=True)[:limit]
    )
    if teams:
        _enqueue(teams)
    return teams


def _enqueue(team_ids: list[int]) -> None:
    """Publish one task per team. A failure is logged, not raised: the sweep publishes again."""
    from alerts.tasks import tell_operators_reached_nobody

    for team_id in team_ids:
        try:
            tell_operators_reached_nobody.delay(team_id)
        except Exception:
            log.exception("could not enqueue the reached-nobody notice of team %s; the sweep will", team_id)
            return


def _body(notice: ReachedNobodyNotice) -> str:
    base = settings.PHAROS_BASE_URL
    lines = [
        f"An incident of team {notice.team.name!r} alerted nobody: the team has no member or channel",
        "that its escalation could reach (on a fresh install, the admin belongs to no team).",
        "",
    ]
    if notice.incident is not None:
        incident = notice.incident
        lines.append(f"Incident #{incident.pk}: {incident.name or incident.cause}")
        lines.append(f"{base}{reverse('admin:alerts_incident_change', args=[incident.pk])}")
        lines.append("")
    lines += [
        "Add members (with an email address) or a channel to the team:",
        f"{base}{reverse('admin:teams_team_change', args=[notice.team_id])}",
        "",
        "Pharos tells you this once per team; the incident list shows every incident that reached nobody.",
    ]
    return "\n".join(lines)
