"""Notification outbox: the rows each incident transition writes, in its own transaction.

``record_transition`` runs inside the transaction that claimed the transition (see
alerts.incidents), so a transition and the promise to tell people about it commit or
roll back together. Delivery happens after commit, on the ``alerts`` queue; the
escalation tick's sweeper re-enqueues any row whose enqueue was lost.

* started — escalation begins: the steps due at once (on-call member and team channels,
  or the policy's first step) get alert rows.
* acknowledged — escalation stops; channels that were alerted (PagerDuty, Slack, a
  webhook…) hear that someone is on it. People are not mailed about their own click.
* resolved — escalation stops; everyone who was alerted gets a recovery, over the kind
  they were alerted by (a recovery is never a phone call: callees get an SMS).
"""

from datetime import datetime

from alerts import escalation
from alerts.delivery import enqueue_pending_after_commit
from alerts.models import Incident, NotificationEvent

RECOVERY_KIND_INSTEAD = {"call": "sms"}


def record_transition(incident: Incident, transition: str, *, now: datetime) -> None:
    if transition == "started":
        escalation.start(incident, now=now)
    elif transition == "acknowledged":
        escalation.stop(incident.pk)
        _tell_alerted(incident, NotificationEvent.ACKNOWLEDGED, now=now, people=False)
    elif transition == "resolved":
        escalation.stop(incident.pk)
        _tell_alerted(incident, NotificationEvent.RECOVERY, now=now, people=True)
    else:
        raise ValueError(f"unknown incident transition {transition!r}")
    enqueue_pending_after_commit([incident.pk], now=now)


def _tell_alerted(incident: Incident, event: str, *, now: datetime, people: bool) -> None:
    targets, seen = [], set()
    for recipient, kind, user_id, channel_id, address in escalation.recipients_alerted(incident.pk):
        if channel_id is None and not people:
            continue
        kind = RECOVERY_KIND_INSTEAD.get(kind, kind) if event == NotificationEvent.RECOVERY else kind
        if (recipient, kind) in seen:
            continue
        seen.add((recipient, kind))
        targets.append(escalation.Target(recipient, kind, user_id=user_id, channel_id=channel_id, address=address))
    escalation.write_notifications(incident, event, str(event), targets, now=now)
