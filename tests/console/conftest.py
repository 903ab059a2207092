import pytest


@pytest.fixture
def operator_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "correct horse battery")
    client.force_login(operator)
    return client
