"""Delivering outbox rows: claim, send, record — at least once, and never twice at once.

1. Claim: one conditional UPDATE moves a due row from ``pending`` to ``sending`` (or takes
   over a ``sending`` row whose claim expired because its worker died). Zero rows
   updated means another worker has it, or it is not due: not an error.
2. Send through the channel kind's handler, outside any transaction (a slow SMTP server
   must not hold a row lock), within ``PHAROS_ALERT_DEADLINE`` seconds in all.
3. Record: delivered; or pending again with exponential backoff for a transient error;
   or failed for a permanent one (4xx, rejected address) or after the last attempt. The
   record is conditional on our own claim (status and attempt number), so a worker whose
   claim expired cannot overwrite the outcome of the one that took over.

An alert whose incident was acknowledged or resolved before it went out is ``skipped``.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from alerts.channels import DeliveryError, TransientError, handler_for, http
from alerts.channels.base import ChannelHandler, Delivery
from alerts.messages import build_message, outside_builder
from alerts.models import IncidentEvent, Notification, NotificationEvent, NotificationStatus

log = logging.getLogger(__name__)

ERROR_LIMIT = 2000
MAX_BACKOFF = timedelta(hours=1)
# Rows still pending this long after they were written lost their enqueue (a broker
# blip, a crash between commit and publish); the sweeper sends them again.
LOST_AFTER = timedelta(seconds=30)
SWEEP_LIMIT = 500


def claim_lease():
    """How long a claim holds: longer than any single send can take (SMTP or HTTP timeout)."""
    longest = max(settings.PHAROS_ALERT_DEADLINE, settings.PHAROS_ALERT_HTTP_TIMEOUT, settings.EMAIL_TIMEOUT or 30)
    return timedelta(seconds=2 * longest + 30)


def backoff(attempt):
    """Delay before attempt ``attempt + 1``: the base, tripled each time, at most an hour."""
    seconds = settings.PHAROS_ALERT_RETRY_SECONDS * (3 ** (attempt - 1))
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


CLAIM_SQL = """
    UPDATE alerts_notification
       SET status = 'sending', attempts = attempts + 1, next_attempt_at = %s, updated_at = %s
     WHERE id = %s AND status IN ('pending', 'sending') AND next_attempt_at <= %s
 RETURNING attempts
"""


def claim(notification_id, *, now):
    """Take the row for one send; returns the attempt number, or None when it is not ours.

    pending → sending, or an expired sending claim taken over. The WHERE clause is the
    lock: two workers running this for one row update it once between them. One
    statement with RETURNING (PostgreSQL, SQLite ≥ 3.35) instead of the ORM's UPDATE then
    SELECT in a transaction: three round trips fewer on every delivery.
    """
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [adapt(now + claim_lease()), adapt(now), notification_id, adapt(now)])
        row = cursor.fetchone()
    return row[0] if row else None


@dataclass
class Send:
    """A claimed row and everything its channel needs to send it, read before sending."""

    row: Notification
    attempt: int
    handler: ChannelHandler
    delivery: Delivery


def routes_of(notification_ids):
    """``{id: (destination key, team id)}`` of the rows that still exist, read in one query
    and without claiming them. The destination (``ChannelHandler.destination``) is what the
    sender's per-destination cap counts; the team (the incident's) is whose share of the
    sender's slots the row takes. The sender waits for both first, so a row is claimed
    only when it can be sent at once."""
    routes = {}
    rows = (
        Notification.objects.select_related("channel")
        .annotate(incident_team=F("incident__team_id"))
        .filter(pk__in=list(notification_ids))
    )
    for row in rows:
        team = row.incident_team
        try:
            handler = handler_for(row.kind)
        except LookupError:
            routes[row.pk] = (row.kind, team)
            continue
        channel = row.channel if row.recipient.startswith("channel:") else None
        probe = Delivery(
            notification_id=row.pk,
            kind=row.kind,
            message=None,
            config=dict(channel.config) if channel else {},
            secrets=dict(channel.secrets) if channel else {},
        )
        routes[row.pk] = (handler.destination(probe), team)
    return routes


def start(notification_id, *, now):
    """Claim a row and read what sending it takes.

    Returns a ``Send``; or the status already recorded when there is nothing to send (the
    incident was acknowledged first, the channel is gone); or None when the row is not
    ours (another worker has it, it is not due, it was deleted).
    """
    attempt = claim(notification_id, now=now)
    if attempt is None:
        return None
    row = Notification.objects.select_related("incident__team", "channel").filter(pk=notification_id).first()
    if row is None:  # its incident was deleted since the claim
        return None
    incident = row.incident
    outside = outside_builder(row.recipient)
    if outside is not None:
        return _start_outside(row, attempt, outside, now=now)
    if row.event == NotificationEvent.ALERT and (incident.acknowledged_at or incident.resolved_at):
        return _record(
            row, attempt, NotificationStatus.SKIPPED, now=now, error="incident acknowledged or resolved first"
        )
    if row.recipient.startswith("channel:") and (row.channel is None or not row.channel.enabled):
        return _record(row, attempt, NotificationStatus.FAILED, now=now, error="the channel was deleted or disabled")
    try:
        handler = handler_for(row.kind)
        channel = row.channel if row.recipient.startswith("channel:") else None
        ack_actor = row.address or (f"{channel.get_kind_display()} channel {channel}" if channel else "")
        delivery = Delivery(
            notification_id=row.pk,
            kind=row.kind,
            message=build_message(incident, row.event, ack_actor=ack_actor),
            address=row.address,
            config=dict(channel.config) if channel else {},
            secrets=dict(channel.secrets) if channel else {},
        )
    except Exception as error:
        log.exception("notification %s: cannot prepare it", row.pk, extra={"notification": row.pk})
        return _retry_or_fail(row, attempt, now=now, error=f"{type(error).__name__}: {error}")
    return Send(row, attempt, handler, delivery)


def _start_outside(row, attempt, build, *, now):
    """A row for someone outside the team (a status page's subscriber): worded by its app,
    sent even when the incident already ended (the start, then the resolution, is the story
    a customer reads), skipped when the recipient is gone (unsubscribed)."""
    try:
        message = build(row, row.incident)
        if message is None:
            return _record(row, attempt, NotificationStatus.SKIPPED, now=now, error="the recipient is gone")
        handler = handler_for(row.kind)
        delivery = Delivery(notification_id=row.pk, kind=row.kind, message=message, address=row.address)
    except Exception as error:
        log.exception("notification %s: cannot prepare it", row.pk, extra={"notification": row.pk})
        return _retry_or_fail(row, attempt, now=now, error=f"{type(error).__name__}: {error}")
    return Send(row, attempt, handler, delivery)


def deadline():
    """Seconds one send may take in all (connect, TLS, upload, the receiver's answer)."""
    return settings.PHAROS_ALERT_DEADLINE


async def attempt(send, *, within=None):
    """Hand the message to its channel, at most ``within`` seconds (the deadline).

    Returns None when the provider accepted it, else the error to record. Never raises
    for the channel's sake: a bug in a handler or a broken channel config comes back as an
    error too (retried like a transient one, bounded by the attempt limit, logged with its
    traceback).
    """
    limit = deadline() if within is None else within
    try:
        await asyncio.wait_for(send.handler.send(send.delivery), limit)
    except TimeoutError:
        return TransientError(f"no answer within the {limit:g} s delivery deadline")
    except DeliveryError as error:
        return error
    except Exception as error:
        log.exception(
            "notification %s: unexpected error while sending",
            send.row.pk,
            extra={"incident": send.row.incident_id, "notification": send.row.pk},
        )
        return error
    return None


def finish(send, error, *, now):
    """Record the outcome of ``attempt``: delivered, retry with backoff, or failed."""
    row, number = send.row, send.attempt
    if error is None:
        return _record(row, number, NotificationStatus.DELIVERED, now=now)
    if isinstance(error, DeliveryError):
        if error.permanent:
            return _record(row, number, NotificationStatus.FAILED, now=now, error=error.message)
        return _retry_or_fail(row, number, now=now, error=error.message)
    return _retry_or_fail(row, number, now=now, error=f"{type(error).__name__}: {error}")


def release(send, *, now):
    """Put a claimed row that was not sent back in the outbox, due at once, as if never
    claimed (a warm shutdown stopped it). Conditional on our own claim, like ``_record``:
    a row another worker took over meanwhile is left alone. True when it went back."""
    return bool(
        Notification.objects.filter(pk=send.row.pk, status=NotificationStatus.SENDING, attempts=send.attempt).update(
            status=NotificationStatus.PENDING, attempts=send.attempt - 1, next_attempt_at=now, updated_at=now
        )
    )


def deliver(notification_id, *, now):
    """Deliver one outbox row, start to end, in this thread. Returns its status afterwards, or None.

    The alert sender (alerts.sender) runs the same three steps for many rows at once.
    """
    send = start(notification_id, now=now)
    if not isinstance(send, Send):
        return send

    async def once():
        async with http.scoped_client():
            return await attempt(send)

    return finish(send, asyncio.run(once()), now=now)


def _retry_or_fail(row, attempt, *, now, error):
    if attempt >= settings.PHAROS_ALERT_MAX_ATTEMPTS:
        return _record(
            row, attempt, NotificationStatus.FAILED, now=now, error=f"gave up after {attempt} attempts: {error}"
        )
    return _record(
        row, attempt, NotificationStatus.PENDING, now=now, error=error, next_attempt_at=now + backoff(attempt)
    )


def _record(row, attempt, status, *, now, error="", next_attempt_at=None):
    fields = {"status": status, "last_error": error[:ERROR_LIMIT], "updated_at": now}
    if status == NotificationStatus.DELIVERED:
        fields["delivered_at"] = now
    fields["next_attempt_at"] = next_attempt_at or now
    recorded = Notification.objects.filter(pk=row.pk, status=NotificationStatus.SENDING, attempts=attempt).update(
        **fields
    )
    if not recorded:
        log.warning(
            "notification %s: claim expired before attempt %s was recorded",
            row.pk,
            attempt,
            extra={"incident": row.incident_id, "notification": row.pk},
        )
        return None
    if status in (NotificationStatus.FAILED, NotificationStatus.PENDING) and error:
        log.warning(
            "notification %s (%s to %s) attempt %s: %s",
            row.pk,
            row.kind,
            row.recipient,
            attempt,
            error,
            extra={"incident": row.incident_id, "notification": row.pk, "status": str(status)},
        )
    if status in (NotificationStatus.DELIVERED, NotificationStatus.FAILED) and outside_builder(row.recipient) is None:
        # The incident's timeline (not every subscriber of a status page: they are not the team's) says who was told, and whom Pharos failed to reach.
        where = f"{row.get_event_display()} by {row.kind} to {row.address or row.channel or row.recipient}"
        IncidentEvent.objects.create(
            incident_id=row.incident_id,
            at=now,
            kind=IncidentEvent.Kind.NOTIFIED,
            message=f"{where}: sent" if status == NotificationStatus.DELIVERED else f"{where}: failed — {error}"[:2000],
        )
    return status


def due_for_sweep(*, now, limit=SWEEP_LIMIT):
    """Ids of rows the sweeper should enqueue: retries now due, lost enqueues, expired claims.

    The first filter matches the partial index ``notification_undelivered`` exactly.
    """
    return list(
        Notification.objects.filter(
            status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING], next_attempt_at__lte=now
        )
        .filter(Q(status=NotificationStatus.SENDING) | Q(attempts__gt=0) | Q(created_at__lte=now - LOST_AFTER))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


# Ids per ``alerts.deliver`` message: a transition's rows (every channel and person it
# alerts) travel together, so a burst of incidents costs the alert worker one message
# per transition instead of one per row (bench/isolation.py: 50 outages × 5 channels).
ENQUEUE_CHUNK = 100


def enqueue(notification_ids):
    """Publish the ids, ``ENQUEUE_CHUNK`` to a delivery task. Failures are logged, not raised: the sweeper retries."""
    from alerts.tasks import deliver as deliver_task

    ids = [int(notification_id) for notification_id in notification_ids]
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        chunk = ids[start : start + ENQUEUE_CHUNK]
        try:
            deliver_task.delay(*chunk)
        except Exception:
            log.exception("could not enqueue notifications %s; the sweeper will", chunk)
            return


def enqueue_pending_after_commit(incident_ids, *, now):
    """After the surrounding transaction commits, enqueue the incidents' fresh pending rows.

    Publishing after commit means a worker never looks for a row it cannot see yet; a
    crash between the commit and the publish is what the sweeper is for.
    """

    def publish():
        ids = list(
            Notification.objects.filter(
                incident_id__in=incident_ids, status=NotificationStatus.PENDING, attempts=0, next_attempt_at__lte=now
            ).values_list("pk", flat=True)
        )
        enqueue(ids)

    transaction.on_commit(publish)
