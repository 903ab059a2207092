from django.apps import AppConfig
from django.db.models.signals import post_delete


class MonitorsConfig(AppConfig):
    name = "monitors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from monitors.models import Monitor
        from monitors.withdrawal import monitor_deleted

        # Region workers stop the checks of deleted monitors (monitors.withdrawal).
        post_delete.connect(monitor_deleted, sender=Monitor, dispatch_uid="monitors.withdraw_deleted")
