"""The admin login cannot be guessed without limit (django-axes), counted per username and
client address — the address the proxy forwarded when it comes from a trusted proxy."""

import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
PROXY = "10.0.0.1"


@pytest.fixture(autouse=True)
def throttle(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.PHAROS_TRUSTED_PROXIES = [PROXY]


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)


def log_in(client, password, **meta):
    return client.post("/admin/login/?next=/admin/", {"username": "operator", "password": password}, **meta)


def test_the_fifth_wrong_password_locks_out_and_then_the_right_one_is_refused_too(client, operator):
    for _ in range(4):
        assert log_in(client, "guess").status_code == 200  # the form again, with its error
    assert log_in(client, "guess").status_code == 429

    response = log_in(client, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_fewer_failures_than_the_limit_still_let_the_operator_in(client, operator):
    for _ in range(4):
        log_in(client, "guess")

    assert log_in(client, PASSWORD).status_code == 302


def test_behind_the_proxy_each_forwarded_client_is_counted_apart(client, operator):
    for _ in range(5):
        log_in(client, "guess", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert log_in(client, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert log_in(client, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302


def test_a_client_cannot_escape_its_count_by_forging_x_forwarded_for(client, operator):
    for attempt in range(5):
        log_in(client, "guess", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")

    response = log_in(client, PASSWORD, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert response.status_code == 429
