from django.apps import AppConfig


class HeartbeatsConfig(AppConfig):
    name = "heartbeats"
    default_auto_field = "django.db.models.BigAutoField"
