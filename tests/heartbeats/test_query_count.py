"""The hot path costs a constant, small number of queries whatever the history."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from heartbeats.models import Ping
from tests.heartbeats.conftest import ping_path

pytestmark = pytest.mark.django_db


def add_history(heartbeat, count):
    now = timezone.now()
    Ping.objects.bulk_create(
        Ping(heartbeat=heartbeat, created_at=now - timedelta(minutes=i), kind="success", method="GET")
        for i in range(count)
    )


@pytest.mark.parametrize("history", [0, 500])
def test_a_success_ping_of_an_up_heartbeat_costs_one_statement(
    client, up_heartbeat, django_assert_num_queries, history
):
    add_history(up_heartbeat, history)

    with django_assert_num_queries(1):
        assert client.get(ping_path(up_heartbeat)).status_code == 200


def test_a_cron_heartbeats_ping_costs_two_statements(client, make_heartbeat, django_assert_num_queries):
    heartbeat = make_heartbeat(status="up", cron="0 2 * * *", timezone="Europe/Berlin")

    with django_assert_num_queries(2):
        client.get(ping_path(heartbeat))


@pytest.mark.parametrize("suffix", ["/start", "/0"])
def test_start_and_exit_code_zero_cost_one_statement(client, up_heartbeat, django_assert_num_queries, suffix):
    client.post(ping_path(up_heartbeat, "/start"), data="x", content_type="text/plain")  # the token is now known

    with django_assert_num_queries(1):
        client.post(ping_path(up_heartbeat, suffix), data="x" * 1000, content_type="text/plain")


def test_the_first_ping_with_a_body_costs_one_more_query_to_know_the_token(
    client, up_heartbeat, django_assert_num_queries
):
    # The token is looked up before a byte of the body is read (heartbeats.known_tokens),
    # once per process and token; a ping without a body never pays it.
    with django_assert_num_queries(2):
        client.post(ping_path(up_heartbeat, "/0"), data="x" * 1000, content_type="text/plain")


def test_the_first_ping_of_a_pending_heartbeat_costs_two_statements(client, heartbeat, django_assert_num_queries):
    with django_assert_num_queries(2):
        client.get(ping_path(heartbeat))


def test_a_paused_heartbeats_ping_costs_two_statements(client, make_heartbeat, django_assert_num_queries):
    heartbeat = make_heartbeat(status="paused", paused_at=timezone.now())

    with django_assert_num_queries(2):
        client.get(ping_path(heartbeat))


def test_an_unknown_token_costs_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert client.get("/api/v1/heartbeat/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404


def test_a_bad_exit_code_costs_no_query(client, up_heartbeat, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get(ping_path(up_heartbeat, "/256")).status_code == 400


def test_a_failure_costs_the_same_however_long_the_history(client, make_heartbeat):
    # The status change adds the incident work (its rows and the outbox), but nothing
    # that grows with the heartbeat's pings.
    counts = []
    for history in (0, 300):
        heartbeat = make_heartbeat(status="up", last_ping_at=timezone.now())
        add_history(heartbeat, history)
        with CaptureQueriesContext(connection) as captured:
            client.get(ping_path(heartbeat, "/fail"))
        counts.append(len(captured))
    assert counts[0] == counts[1]
