from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Status pages"

    def ready(self) -> None:
        # Connects the page cache to incident transitions (status.page_cache).
        # Mails the subscribers of the pages an incident concerns (through the alerts outbox).
        from status import (
            page_cache,  # noqa: F401
            subscriber_mail,  # noqa: F401
        )
