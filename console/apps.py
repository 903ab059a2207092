from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator's console: the admin's overview, charts and widgets (issue #14).

    Listed before django.contrib.admin so that its ``admin/base_site.html`` is the one the
    admin extends; it owns no models."""

    name = "console"
    verbose_name = "Console"
