"""Who hears about an incident, and when: simple escalation and escalation policies.

An incident's escalation is a plan — an ordered list of steps, each with an offset from
``started_at`` and a list of members — plus an ``Escalation`` row saying which step is
next and when it is due. The plan is derived, never stored, so it follows the incident:

* Simple (no policy): step ``on-call`` at once — the current on-call member over the
  incident's flags (email, sms, call; push and critical_alert through the member's own
  push channels) and every team-wide channel; then, if ``team_wait`` is set, step
  ``team`` after ``team_wait`` seconds — every member over the same flags.
* Policy: its steps in order, each ``wait_before`` seconds after the previous one, the
  whole sequence repeated ``repeat_count`` times with ``repeat_delay`` seconds before each
  repeat. People in policy steps are reached over the incident's flags (email when no
  flag is set): the policy decides who and when, the flags how.

``current_on_call`` pages whoever the team's on-call calendar names when the step fires
(teams.oncall: an override event, else the rotation, else the team's fallback); a member
``{"type": "current_on_call", "id": <calendar>}`` asks that calendar instead of the
default one. With nobody on call, it means the whole team: somebody must hear.

A policy step with an ``urgency_id`` reaches people over that urgency's channels (call,
sms, email, push, critical_alert) instead of the incident's flags.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from alerts import reached_nobody
from alerts.channels import MEMBER_TYPE_KINDS
from alerts.models import (
    TEAM_RECIPIENTS,
    Channel,
    Escalation,
    IncidentEvent,
    IncidentStatus,
    Notification,
    NotificationEvent,
    NotificationStatus,
    Urgency,
)

log = logging.getLogger(__name__)

PERSON_MEMBER_TYPES = ("entire_team", "current_on_call", "user")
STEP_MEMBER_TYPES = (*PERSON_MEMBER_TYPES, "channel", *MEMBER_TYPE_KINDS)
# A policy is expanded into at most this many steps (steps × repeats), bounding the work
# one tick can do for one incident.
MAX_PLANNED_STEPS = 500
# A row that makes the tick fail is retried this much later instead of every tick.
BAD_ROW_BACKOFF = timedelta(seconds=60)


@dataclass(frozen=True)
class Step:
    key: str
    offset: int
    members: tuple
    urgency_id: int | None = None


@dataclass(frozen=True)
class Target:
    """One recipient over one kind: a person's address or a channel."""

    recipient: str
    kind: str
    user_id: int | None = None
    channel_id: int | None = None
    address: str = ""


def validate_policy_steps(steps, repeat_count=0, repeat_delay=0):
    """Errors in a policy's ``steps`` as a list of messages; empty when the policy can run.

    The policy serializer calls this so that the API accepts exactly what escalation runs.
    """
    errors = []
    if not isinstance(steps, list) or not steps:
        return ["steps must be a non-empty list"]
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            errors.append(f"step {number} must be an object")
            continue
        if step.get("type", "escalation") != "escalation":
            errors.append(f"step {number}: type must be 'escalation'")
        wait = step.get("wait_before", 0)
        if not isinstance(wait, int) or isinstance(wait, bool) or wait < 0:
            errors.append(f"step {number}: wait_before must be a whole number of seconds ≥ 0")
        members = step.get("step_members")
        if not isinstance(members, list) or not members:
            errors.append(f"step {number}: step_members must be a non-empty list")
            continue
        for member in members:
            kind = member.get("type") if isinstance(member, dict) else None
            if kind not in STEP_MEMBER_TYPES:
                errors.append(f"step {number}: member type must be one of {', '.join(STEP_MEMBER_TYPES)}")
            elif kind in ("user", "channel") and not str(member.get("id") or "").isdigit():
                errors.append(f"step {number}: a {kind} member needs an id")
    if len(steps) * (int(repeat_count or 0) + 1) > MAX_PLANNED_STEPS:
        errors.append(f"steps × (repeat_count + 1) must stay within {MAX_PLANNED_STEPS}")
    return errors


def plan_for(incident):
    """The incident's escalation steps, in order, with offsets in seconds from its start."""
    policy = incident.policy
    if policy is None:
        steps = [Step("on-call", 0, ({"type": "current_on_call"}, {"type": "team_channels"}))]
        if incident.team_wait is not None:
            steps.append(Step("team", incident.team_wait, ({"type": "entire_team"},)))
        return steps
    steps, offset = [], 0
    policy_steps = [s for s in policy.steps or [] if isinstance(s, dict)]
    for repeat in range(int(policy.repeat_count or 0) + 1):
        if repeat:
            offset += int(policy.repeat_delay or 0)
        for number, step in enumerate(policy_steps, start=1):
            offset += max(int(step.get("wait_before") or 0), 0)
            key = f"step-{number}" + (f"/repeat-{repeat}" if repeat else "")
            urgency = step.get("urgency_id")
            urgency_id = int(urgency) if str(urgency or "").isdigit() else None
            steps.append(Step(key, offset, tuple(step.get("step_members") or ()), urgency_id))
            if len(steps) >= MAX_PLANNED_STEPS:
                return steps
    return steps


def person_kinds(incident):
    kinds = [kind for kind in ("email", "sms", "call") if getattr(incident, kind)]
    push = incident.push or incident.critical_alert
    if incident.policy_id is not None and not kinds and not push:
        kinds = ["email"]
    return kinds, push


def urgency_kinds(urgency):
    """How people are reached at a step with this urgency: its own channels, nothing else."""
    return [kind for kind in ("email", "sms", "call") if getattr(urgency, kind)], urgency.push or urgency.critical_alert


class Directory:
    """The team's members and channels, read once per escalation and reused for each step.

    ``now`` is when the steps fire: ``current_on_call`` is whoever is on call then.
    """

    def __init__(self, incident, *, now):
        from teams.models import Membership
        from teams.oncall import Roster

        self.incident = incident
        self.now = now
        self.memberships = list(
            Membership.objects.filter(team_id=incident.team_id).select_related("user").order_by("id")
        )
        self.roster = Roster(self.memberships)
        self.channels = list(Channel.objects.filter(team_id=incident.team_id, enabled=True).order_by("id"))
        self.kinds, self.push = self.incident_kinds = person_kinds(incident)
        self._on_call = {}

    def targets(self, members, *, urgency=None):
        self.kinds, self.push = urgency_kinds(urgency) if urgency is not None else self.incident_kinds
        found = []
        for member in members:
            found.extend(self._targets_of(member if isinstance(member, dict) else {}))
        return found

    def on_call(self, calendar_id):
        """Memberships of whoever the calendar (default when None) names now; cached per step run."""
        if calendar_id not in self._on_call:
            from teams.oncall import on_call_at

            answer = on_call_at(self.incident.team_id, at=self.now, calendar_id=calendar_id, roster=self.roster)
            by_user = {m.user_id: m for m in self.memberships}
            self._on_call[calendar_id] = [by_user[uid] for uid in answer.user_ids if uid in by_user]
        return self._on_call[calendar_id]

    def _targets_of(self, member):
        kind = member.get("type")
        if kind == "entire_team":
            return self._people(self.memberships)
        if kind == "current_on_call":
            calendar = member.get("id")
            on_call = self.on_call(int(calendar) if str(calendar or "").isdigit() else None)
            return self._people(on_call or self.memberships)
        if kind == "user":
            return self._people([m for m in self.memberships if str(m.user_id) == str(member.get("id"))])
        if kind == "team_channels":
            return [self._channel(c) for c in self.channels if c.user_id is None]
        if kind == "channel":
            return [self._channel(c) for c in self.channels if str(c.pk) == str(member.get("id"))]
        if kind in MEMBER_TYPE_KINDS:
            wanted = MEMBER_TYPE_KINDS[kind]
            if member.get("id") is not None:
                return [self._channel(c) for c in self.channels if str(c.pk) == str(member["id"]) and c.kind == wanted]
            return [self._channel(c) for c in self.channels if c.kind == wanted and c.user_id is None]
        log.warning(
            "incident %s: ignoring unknown step member %r",
            self.incident.pk,
            member,
            extra={"incident": self.incident.pk, "team": self.incident.team_id},
        )
        return []

    def _people(self, memberships):
        targets = []
        for membership in memberships:
            user = membership.user
            recipient = f"user:{user.pk}"
            if "email" in self.kinds and user.email:
                targets.append(Target(recipient, "email", user_id=user.pk, address=user.email))
            for kind in ("sms", "call"):
                if kind in self.kinds and membership.phone_number:
                    targets.append(Target(recipient, kind, user_id=user.pk, address=membership.phone_number))
            if self.push:
                targets.extend(self._channel(c) for c in self.channels if c.user_id == user.pk)
        return targets

    @staticmethod
    def _channel(channel):
        return Target(f"channel:{channel.pk}", channel.kind, channel_id=channel.pk, user_id=channel.user_id)


def write_notifications(incident, event, step_key, targets, *, now):
    """Insert outbox rows; rows that already exist (same step, recipient, kind) are kept as they are."""
    rows = [
        Notification(
            incident=incident,
            event=event,
            step=step_key,
            recipient=t.recipient,
            kind=t.kind,
            user_id=t.user_id,
            channel_id=t.channel_id,
            address=t.address,
            next_attempt_at=now,
            created_at=now,
        )
        for t in targets
    ]
    # ignore_conflicts: the unique constraint is the idempotence guarantee; a step written
    # twice (a retried tick) must be a no-op, not an error.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)


def send_due_steps(incident, escalation, *, now):
    """Write the alerts of every step due by ``now`` and move the escalation on.

    Runs inside the caller's transaction, with ``escalation`` locked or freshly created.
    Steps that fall due together (a late tick, ``team_wait`` 0) reach each recipient over
    each kind once. Returns the steps it sent.
    """
    plan = plan_for(incident)
    due, position = [], escalation.next_step
    while position < len(plan) and incident.started_at + timedelta(seconds=plan[position].offset) <= now:
        due.append(plan[position])
        position += 1
    if due:
        directory = Directory(incident, now=now)
        wanted = {step.urgency_id for step in due if step.urgency_id is not None}
        # Only the team's own urgencies; one that was deleted leaves the incident's flags.
        urgencies = Urgency.objects.in_bulk(wanted) if wanted else {}
        urgencies = {pk: u for pk, u in urgencies.items() if u.team_id == incident.team_id}
        seen = set()
        for step in due:
            targets = []
            for target in directory.targets(step.members, urgency=urgencies.get(step.urgency_id)):
                if (target.recipient, target.kind) not in seen:
                    seen.add((target.recipient, target.kind))
                    targets.append(target)
            if not targets:
                log.warning(
                    "incident %s step %s: nobody to notify (no members or channels match)",
                    incident.pk,
                    step.key,
                    extra={"incident": incident.pk, "team": incident.team_id, "step": step.key},
                )
            write_notifications(incident, NotificationEvent.ALERT, step.key, targets, now=now)
            if step.offset > 0:
                IncidentEvent.objects.create(
                    incident=incident, at=now, kind=IncidentEvent.Kind.ESCALATED, message=f"Escalated: {step.key}"
                )
        # Recorded on the incident, not only in a log line: the console shows it and the
        # operators hear about it once per team.
        if seen:
            reached_nobody.reached_someone(incident, now=now)
        else:
            reached_nobody.record(incident, now=now)
    escalation.next_step = position
    escalation.due_at = incident.started_at + timedelta(seconds=plan[position].offset) if position < len(plan) else None
    escalation.save(update_fields=["next_step", "due_at"])
    return due


def start(incident, *, now):
    """Begin escalating a newly opened incident: create its state and send what is due now."""
    escalation = Escalation.objects.create(incident=incident, next_step=0)
    send_due_steps(incident, escalation, now=now)


def stop(incident_id):
    """Acknowledged or resolved: no further step will be sent."""
    Escalation.objects.filter(incident_id=incident_id).update(due_at=None)


def escalate_due(*, now, limit=200):
    """The escalation tick: send the due steps of unacknowledged open incidents.

    Rows are locked with SKIP LOCKED so two ticks (two beat schedulers during a deploy,
    a slow tick overlapping the next) split the work instead of sending a step twice; an
    acknowledgement that commits meanwhile waits for the lock and then stops the rest.
    Returns the number of incidents that moved on.
    """
    moved = 0
    with transaction.atomic():
        escalations = list(
            Escalation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident__team", "incident__policy")
            .filter(due_at__lte=now, incident__resolved_at__isnull=True, incident__acknowledged_at__isnull=True)
            # A validating incident is passing again: hold its next step rather than wake
            # the team for an outage that is ending. If it fails again, the overdue step
            # goes out on the next tick.
            .exclude(incident__status=IncidentStatus.VALIDATING)
            .order_by("due_at")[:limit]
        )
        for escalation in escalations:
            try:
                with transaction.atomic():
                    send_due_steps(escalation.incident, escalation, now=now)
                moved += 1
            except Exception:
                # One broken incident must not stop every other incident's escalation.
                log.exception(
                    "escalating incident %s failed; retrying later",
                    escalation.incident_id,
                    extra={"incident": escalation.incident_id},
                )
                Escalation.objects.filter(pk=escalation.pk).update(due_at=now + BAD_ROW_BACKOFF)
        if moved:
            from alerts.delivery import enqueue_pending_after_commit

            enqueue_pending_after_commit([e.incident_id for e in escalations], now=now)
    return moved


def recipients_alerted(incident_id):
    """Distinct (recipient, kind, user, channel, address) that were sent, or are being sent, an alert."""
    return (
        Notification.objects.filter(
            TEAM_RECIPIENTS,
            incident_id=incident_id,
            event=NotificationEvent.ALERT,
            status__in=[NotificationStatus.DELIVERED, NotificationStatus.SENDING],
        )
        .values_list("recipient", "kind", "user_id", "channel_id", "address")
        .distinct()
    )
