"""What a heartbeat shows while paused or inside its maintenance window (alerts.maintenance
reads the window)."""

from alerts.maintenance import MaintenanceWindow


def shown_status(heartbeat, *, now):
    """The status to show (API, admin): paused and maintenance win over the stored status.

    The stored status stays up/down/pending through a window, so the sweep's index and the
    incident logic never have to undo a "maintenance" status when the window closes.
    """
    if heartbeat.paused_at is not None:
        return "paused"
    if MaintenanceWindow.of(heartbeat).contains(now):
        return "maintenance"
    return heartbeat.status
