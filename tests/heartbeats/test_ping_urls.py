"""The ping URL of docs/api.md: every form, every method, the bounds of exit codes and bodies."""

import pytest

from heartbeats.models import Ping
from tests.heartbeats.conftest import ping_path

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post", "head"])
@pytest.mark.parametrize(
    "suffix, kind, exit_code",
    [
        ("", "success", None),
        ("/", "success", None),
        ("/fail", "fail", None),
        ("/fail/", "fail", None),
        ("/start", "start", None),
        ("/start/", "start", None),
        ("/0", "success", 0),
        ("/1", "fail", 1),
        ("/255", "fail", 255),
        ("/3/", "fail", 3),
    ],
)
def test_every_url_form_and_method_records_a_ping(client, heartbeat, method, suffix, kind, exit_code):
    response = getattr(client, method)(ping_path(heartbeat, suffix))

    assert response.status_code == 200
    ping = Ping.objects.get(heartbeat=heartbeat)
    assert (ping.kind, ping.exit_code, ping.method) == (kind, exit_code, method.upper())


@pytest.mark.parametrize("suffix", ["/256", "/-1", "/abc", "/1000000000000000", "/fail2"])
def test_exit_codes_outside_0_to_255_are_a_bad_request_and_record_nothing(client, heartbeat, suffix):
    response = client.get(ping_path(heartbeat, suffix))

    assert response.status_code == 400
    assert b"0 to 255" in response.content
    assert not Ping.objects.exists()


def test_an_unknown_token_is_not_found(client, heartbeat):
    response = client.get("/api/v1/heartbeat/not-a-token-of-ours")

    assert response.status_code == 404
    assert not Ping.objects.exists()


def test_an_unknown_token_with_an_action_is_not_found(client, heartbeat):
    assert client.post("/api/v1/heartbeat/not-a-token-of-ours/fail").status_code == 404


def test_a_path_below_the_action_is_not_a_ping_url(client, heartbeat):
    assert client.get(ping_path(heartbeat, "/fail/extra")).status_code == 404


def test_other_methods_are_refused(client, heartbeat):
    response = client.put(ping_path(heartbeat))

    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, HEAD"
    assert not Ping.objects.exists()


def test_the_response_announces_the_body_limit_and_forbids_caching(client, heartbeat, settings):
    settings.PHAROS_PING_BODY_LIMIT = 1234

    response = client.get(ping_path(heartbeat))

    assert response["X-Pharos-Ping-Body-Limit"] == "1234"
    assert response["Cache-Control"] == "no-store"
    assert response.content == b"OK"


def test_the_endpoint_needs_no_csrf_token(heartbeat):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    assert strict.post(ping_path(heartbeat, "/fail"), data="x", content_type="text/plain").status_code == 200


def test_the_body_is_stored_with_the_ping(client, heartbeat):
    client.post(ping_path(heartbeat, "/1"), data="rsync: connection refused\n", content_type="text/plain")

    ping = Ping.objects.get()
    assert ping.body == "rsync: connection refused\n"
    assert ping.body_truncated is False


def test_a_body_at_the_limit_is_kept_whole(client, heartbeat, settings):
    settings.PHAROS_PING_BODY_LIMIT = 100

    client.post(ping_path(heartbeat), data="x" * 100, content_type="text/plain")

    ping = Ping.objects.get()
    assert (len(ping.body), ping.body_truncated) == (100, False)


def test_a_body_over_the_limit_is_cut_at_the_limit(client, heartbeat, settings):
    settings.PHAROS_PING_BODY_LIMIT = 100

    client.post(ping_path(heartbeat), data="y" * 101, content_type="text/plain")

    ping = Ping.objects.get()
    assert (ping.body, ping.body_truncated) == ("y" * 100, True)


def test_a_multibyte_character_split_by_the_limit_is_dropped_whole(client, heartbeat, settings):
    settings.PHAROS_PING_BODY_LIMIT = 5

    client.post(ping_path(heartbeat), data="abcd€", content_type="text/plain; charset=utf-8")

    assert Ping.objects.get().body == "abcd"


def test_bytes_postgresql_cannot_store_are_replaced_not_refused(client, heartbeat):
    client.post(ping_path(heartbeat), data=b"ok\x00\xff done", content_type="application/octet-stream")

    assert Ping.objects.get().body == "ok\ufffd\ufffd done"


def test_a_zero_limit_stores_no_body_but_says_one_was_cut(client, heartbeat, settings):
    settings.PHAROS_PING_BODY_LIMIT = 0

    client.post(ping_path(heartbeat), data="output", content_type="text/plain")

    ping = Ping.objects.get()
    assert (ping.body, ping.body_truncated) == ("", True)


def test_the_user_agent_and_remote_address_are_recorded(client, heartbeat):
    client.get(ping_path(heartbeat), HTTP_USER_AGENT="curl/8.5.0", REMOTE_ADDR="192.0.2.7")

    ping = Ping.objects.get()
    assert (ping.user_agent, ping.remote_addr) == ("curl/8.5.0", "192.0.2.7")


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(client, heartbeat, settings):
    settings.PHAROS_TRUSTED_PROXIES = ["10.0.0.1"]

    client.get(ping_path(heartbeat), REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert Ping.objects.get().remote_addr == "192.0.2.7"


def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(client, heartbeat, settings):
    settings.PHAROS_TRUSTED_PROXIES = ["10.0.0.1", "10.0.0.2"]

    # The client forged the first entry; the proxies appended the last two.
    client.get(ping_path(heartbeat), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9, 10.0.0.2")

    assert Ping.objects.get().remote_addr == "203.0.113.9"


def test_a_garbled_forwarded_address_falls_back_to_the_proxy(client, heartbeat, settings):
    settings.PHAROS_TRUSTED_PROXIES = ["10.0.0.1"]

    client.get(ping_path(heartbeat), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")

    assert Ping.objects.get().remote_addr == "10.0.0.1"
