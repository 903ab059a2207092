"""HTTP monitors (status, expected_status_code, keyword, keyword_absence) against a real
scripted HTTP server on loopback."""

import pytest

from probes.spec import DOWN, ERROR, PHASES, UP
from tests.probes.servers import free_port


def test_a_2xx_answer_is_up_with_its_status_code(check, http_server):
    outcome = check(target=http_server.route("/health", status=204, body=b""))
    assert (outcome.status, outcome.status_code, outcome.cause) == (UP, 204, "")


def test_a_503_answer_is_down_with_status_cause_and_the_body_excerpt(check, http_server):
    url = http_server.route("/health", status=503, body=b"maintenance in progress")
    outcome = check(target=url)
    assert (outcome.status, outcome.cause, outcome.status_code) == (DOWN, "Status 503", 503)
    assert outcome.response_excerpt == "maintenance in progress"


def test_the_excerpt_of_a_failing_response_is_its_first_500_bytes(check, http_server):
    outcome = check(target=http_server.route("/", status=500, body=b"x" * 400 + b"y" * 400))
    assert outcome.response_excerpt == "x" * 400 + "y" * 100


def test_a_passing_response_keeps_no_excerpt(check, http_server):
    assert check(target=http_server.route("/", body=b"fine")).response_excerpt == ""


def test_expected_status_code_accepts_only_the_listed_codes(check, http_server):
    url = http_server.route("/teapot", status=404, body=b"")
    assert check(type="expected_status_code", target=url, expected_status_codes=(404, 410)).status == UP
    outcome = check(type="expected_status_code", target=url, expected_status_codes=(200,))
    assert (outcome.status, outcome.cause) == (DOWN, "Status 404")


def test_keyword_present_is_up(check, http_server):
    url = http_server.route("/", body=b'{"status": "ok"}')
    assert check(type="keyword", target=url, keyword="ok").status == UP


def test_keyword_missing_is_down_naming_the_keyword(check, http_server):
    url = http_server.route("/", body=b'{"status": "degraded"}')
    outcome = check(type="keyword", target=url, keyword="ok")
    assert (outcome.status, outcome.cause) == (DOWN, 'Keyword "ok" not found')
    assert outcome.response_excerpt == '{"status": "degraded"}'


def test_keyword_absence_is_down_when_the_keyword_appears(check, http_server):
    url = http_server.route("/", body=b"an error occurred")
    outcome = check(type="keyword_absence", target=url, keyword="error")
    assert (outcome.status, outcome.cause) == (DOWN, 'Keyword "error" found')


def test_keyword_absence_is_up_when_the_keyword_is_absent(check, http_server):
    url = http_server.route("/", body=b"all good")
    assert check(type="keyword_absence", target=url, keyword="error").status == UP


def test_keyword_monitors_still_require_a_passing_status(check, http_server):
    url = http_server.route("/", status=503, body=b"all good")
    outcome = check(type="keyword_absence", target=url, keyword="error")
    assert (outcome.status, outcome.cause) == (DOWN, "Status 503")


def test_keyword_is_found_in_a_chunked_body(check, http_server):
    url = http_server.route("/", body=b"first half, second half with the needle", chunked=True)
    assert check(type="keyword", target=url, keyword="needle").status == UP


def test_phases_are_all_reported_and_add_up_to_the_response_time(check, http_server):
    outcome = check(target=http_server.route("/", delay=0.05))
    assert set(outcome.phases) == set(PHASES)
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)
    assert outcome.phases["processing"] >= 0.05  # the server's think time is time to first byte
    assert outcome.phases["tls_handshake"] == 0.0
    assert outcome.remote_ip == "127.0.0.1"
    assert outcome.region == "eu" and outcome.checked_at


def test_a_server_that_never_answers_is_down_at_the_deadline(check, http_server):
    outcome = check(target=http_server.route("/", hang=True), timeout=0.3)
    assert (outcome.status, outcome.cause) == (DOWN, "Timeout after 0.3 s")
    # The time spent waiting is reported in the phase the check was stuck in.
    assert outcome.phases["processing"] >= 0.25
    assert outcome.response_time == pytest.approx(0.3, abs=0.1)


def test_a_closed_port_is_connection_refused(check):
    outcome = check(target=f"http://127.0.0.1:{free_port()}/")
    assert (outcome.status, outcome.cause) == (DOWN, "Connection refused")


def test_a_server_closing_without_an_answer_is_down(check, http_server):
    outcome = check(target=http_server.route("/", close_without_answer=True))
    assert outcome.status == DOWN
    assert outcome.cause == "Connection closed without a response"


def test_a_name_that_cannot_resolve_is_dns_lookup_failed(check):
    # A 64-character label is invalid, so this fails without asking any resolver.
    outcome = check(target=f"http://{'a' * 64}.example/")
    assert (outcome.status, outcome.cause) == (DOWN, "DNS lookup failed")


@pytest.mark.parametrize("target", ["http://[not-an-ip]/", "ftp://example.com/", "http://example.com:99999/"])
def test_an_invalid_url_is_an_error_of_the_monitor_not_a_down_target(check, target):
    outcome = check(target=target)
    assert outcome.status == ERROR
    assert outcome.cause.startswith("Invalid URL")


def test_a_name_with_characters_no_hostname_has_fails_before_any_lookup(check):
    assert check(target="http://exa mple.com/").cause == "DNS lookup failed"


def test_requests_identify_pharos_and_the_region(check, http_server):
    check(target=http_server.route("/"))
    headers = http_server.requests[-1].headers
    assert headers["x-pharos-region"] == "eu"
    assert headers["user-agent"].startswith("Pharos/") and headers["user-agent"].endswith("(region eu)")


def test_a_monitor_user_agent_replaces_ours_but_the_region_header_stays(check, http_server):
    check(target=http_server.route("/"), headers=(("User-Agent", "custom/1.0"), ("X-Pharos-Region", "spoofed")))
    headers = http_server.requests[-1].headers
    assert headers["user-agent"] == "custom/1.0"
    assert headers["x-pharos-region"] == "eu"


def test_method_body_headers_and_basic_auth_are_sent(check, http_server):
    url = http_server.route("/hook", status=201)
    outcome = check(
        target=url,
        method="POST",
        body='{"ping": 1}',
        headers=(("Content-Type", "application/json"),),
        auth=("robot", "s3cret"),
    )
    received = http_server.requests[-1]
    assert outcome.status == UP
    assert (received.method, received.body) == ("POST", b'{"ping": 1}')
    assert received.headers["content-type"] == "application/json"
    assert received.headers["authorization"] == "Basic cm9ib3Q6czNjcmV0"


def test_head_requests_read_no_body(check, http_server):
    outcome = check(target=http_server.route("/", body=b"ignored"), method="HEAD")
    assert outcome.status == UP and http_server.requests[-1].method == "HEAD"


def test_redirects_are_followed_to_the_final_answer(check, http_server):
    final = http_server.route("/final", body=b"landed")
    http_server.route("/start", status=302, headers=[("Location", "/final")], body=b"")
    outcome = check(type="keyword", target=http_server.url("/start"), keyword="landed")
    assert outcome.status == UP
    assert [r.path for r in http_server.requests] == ["/start", "/final"]
    assert final.endswith("/final")


def test_a_redirect_is_the_answer_when_following_is_off(check, http_server):
    url = http_server.route("/start", status=301, headers=[("Location", "/elsewhere")], body=b"")
    outcome = check(target=url, follow_redirects=False)
    assert (outcome.status, outcome.cause) == (DOWN, "Status 301")


def test_too_many_redirects_is_down(check, http_server):
    url = http_server.route("/loop", status=302, headers=[("Location", "/loop")], body=b"")
    outcome = check(target=url, max_redirects=3)
    assert (outcome.status, outcome.cause) == (DOWN, "Too many redirects (more than 3)")
    assert len(http_server.requests) == 4


def test_a_303_after_post_continues_with_get(check, http_server):
    http_server.route("/form", status=303, headers=[("Location", "/done")], body=b"")
    http_server.route("/done")
    check(target=http_server.url("/form"), method="POST", body="a=1")
    assert [(r.method, r.body) for r in http_server.requests] == [("POST", b"a=1"), ("GET", b"")]


def test_cookies_set_by_a_redirect_travel_to_the_next_hop(check, http_server):
    http_server.route(
        "/login", status=302, headers=[("Location", "/app"), ("Set-Cookie", "session=abc; Path=/")], body=b""
    )
    http_server.route("/app")
    check(target=http_server.url("/login"))
    assert http_server.requests[-1].headers.get("cookie") == "session=abc"


def test_cookies_are_not_carried_when_remember_cookies_is_off(check, http_server):
    http_server.route(
        "/login", status=302, headers=[("Location", "/app"), ("Set-Cookie", "session=abc; Path=/")], body=b""
    )
    http_server.route("/app")
    check(target=http_server.url("/login"), remember_cookies=False)
    assert "cookie" not in http_server.requests[-1].headers


def test_cookies_never_leak_from_one_check_to_the_next(check, http_server):
    http_server.route(
        "/login", status=302, headers=[("Location", "/app"), ("Set-Cookie", "session=abc; Path=/")], body=b""
    )
    http_server.route("/app")
    check(target=http_server.url("/login"))
    check(target=http_server.url("/app"))
    assert "cookie" not in http_server.requests[-1].headers


def test_phases_of_every_redirect_hop_add_up(check, http_server):
    http_server.route("/start", status=302, headers=[("Location", "/slow")], body=b"", delay=0.03)
    http_server.route("/slow", delay=0.03)
    outcome = check(target=http_server.url("/start"))
    assert outcome.phases["processing"] >= 0.06
    assert outcome.response_time == pytest.approx(sum(outcome.phases.values()), abs=1e-5)


def test_an_ipv6_target_is_checked_over_ipv6(check, server_loop):
    from tests.probes.servers import HttpServer

    server = HttpServer(server_loop, host="::1")
    try:
        outcome = check(target=server.route("/"))
        assert (outcome.status, outcome.remote_ip) == (UP, "::1")
    finally:
        server.close()


def test_asking_for_ipv6_of_an_ipv4_only_target_is_dns_lookup_failed(check, http_server):
    outcome = check(target=http_server.route("/"), ip_version="ipv6")
    assert (outcome.status, outcome.cause) == (DOWN, "DNS lookup failed (no IPv6 address)")


def test_a_body_past_the_cap_is_cut_and_still_judged(http_server, authority):
    from probes.runner import ProbeContext
    from tests.probes.conftest import make_spec, run_probe

    small = ProbeContext(region="eu", allow_private_targets=True, body_limit=1000)
    url = http_server.route("/", body=b"a" * 5000 + b"needle")
    outcome = run_probe(small, make_spec(type="keyword", target=url, keyword="needle"))
    assert (outcome.status, outcome.cause) == (DOWN, 'Keyword "needle" not found')


def test_the_probe_transport_also_serves_a_plain_httpx_client(probe_context, http_server):
    import httpx

    from tests.probes.conftest import run_on_worker_loop

    url = http_server.route("/", body=b"hello")

    async def main():
        async with httpx.AsyncClient(transport=probe_context.http_transport) as client:
            return await client.get(url)

    response = run_on_worker_loop(main())
    assert (response.status_code, response.text) == (200, "hello")
    assert response.extensions["pharos.remote_ip"] == "127.0.0.1"
