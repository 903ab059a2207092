"""Who hears about Pharos's own trouble."""

import pytest

from config.operators import operator_emails

pytestmark = pytest.mark.django_db


def test_the_configured_operator_addresses_win(settings, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "x" * 12)
    settings.PHAROS_OPERATOR_EMAIL = ["ops@example.com", "oncall@example.com"]
    assert operator_emails() == ["ops@example.com", "oncall@example.com"]


def test_without_configuration_the_active_superusers_with_an_address_are_the_operators(settings, django_user_model):
    settings.PHAROS_OPERATOR_EMAIL = []
    django_user_model.objects.create_superuser("root", "root@example.com", "x" * 12)
    django_user_model.objects.create_superuser("noaddress", "", "x" * 12)
    retired = django_user_model.objects.create_superuser("retired", "retired@example.com", "x" * 12)
    retired.is_active = False
    retired.save()
    django_user_model.objects.create_user("member", "member@example.com", "x" * 12)
    assert operator_emails() == ["root@example.com"]
