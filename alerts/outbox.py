"""Notification outbox: rows written with each incident transition, delivered by tasks.

Filled in by the alerts issue (#6); until then a transition records nothing to deliver.
"""


def record_transition(incident, transition, *, now):
    return []
