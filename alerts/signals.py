"""Signals other apps listen to without alerts knowing them (status pages refresh on these)."""

from django.dispatch import Signal

# Sent inside the transition's transaction with ``incident`` and ``transition``
# ("started", "acknowledged", "resolved"); receivers defer their work to the commit.
incident_changed = Signal()
