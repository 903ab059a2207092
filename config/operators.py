"""Who operates this Pharos: the people told when Pharos itself needs attention.

``PHAROS_OPERATOR_EMAIL`` (comma-separated) names them; without it, every active
superuser with an email address is an operator. Customer incidents never go here: this is
for the system's own trouble (a stuck pipeline, a region gone silent, incidents that
reached nobody).
"""

from django.conf import settings


def operator_emails() -> list[str]:
    """The operators' addresses, configured or the superusers'; may be empty."""
    if settings.PHAROS_OPERATOR_EMAIL:
        return list(settings.PHAROS_OPERATOR_EMAIL)
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))
