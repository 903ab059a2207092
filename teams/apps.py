from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every Django process (web, manage.py, the central workers) binds shared tasks to
        # the Pharos Celery app. It is imported here rather than from config/__init__.py so
        # that the Django-free region worker can import config.broker without Django.
        import config.celery  # noqa: F401
