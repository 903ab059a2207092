from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Status pages"

    def ready(self) -> None:
        # Connects the page cache to incident transitions (status.page_cache).
        from status import page_cache  # noqa: F401
