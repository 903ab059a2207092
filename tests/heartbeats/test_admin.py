"""The heartbeat admin: list with status and expectation, recent pings with their output."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from heartbeats.admin import RECENT_PINGS_SHOWN, HeartbeatAdmin
from heartbeats.models import Heartbeat, Ping

pytestmark = pytest.mark.django_db


def test_the_list_shows_status_last_ping_and_expectation(operator_client, make_heartbeat):
    make_heartbeat(name="hourly sync", status="up", last_ping_at=timezone.now())
    make_heartbeat(name="nightly dump", cron="0 2 * * *", timezone="Europe/Berlin", grace=600)

    page = operator_client.get(reverse("admin:heartbeats_heartbeat_changelist")).content.decode()

    assert "hourly sync" in page and "every 60 s + 30 s" in page
    assert "cron 0 2 * * * (Europe/Berlin) + 600 s" in page


def test_the_change_page_shows_the_newest_pings_with_bodies_and_exit_codes(operator_client, heartbeat):
    now = timezone.now()
    Ping.objects.bulk_create(
        Ping(
            heartbeat=heartbeat,
            created_at=now + timedelta(seconds=i),
            kind="fail",
            exit_code=i % 256,
            method="POST",
            body=f"output-{i}-end",
        )
        for i in range(RECENT_PINGS_SHOWN + 5)
    )

    page = operator_client.get(reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])).content.decode()

    newest = RECENT_PINGS_SHOWN + 4
    assert f"output-{newest}-end" in page
    assert "output-0-end" not in page  # older than the newest shown
    assert page.count('<pre style="max-height:12em') == RECENT_PINGS_SHOWN  # one body block per ping


def test_saving_a_new_period_moves_the_deadline(operator_client, make_heartbeat, team):
    last_ping_at = timezone.now()
    heartbeat = make_heartbeat(status="up", last_ping_at=last_ping_at, alert_after=last_ping_at + timedelta(seconds=90))
    url = reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])
    form = {
        "team": team.pk,
        "name": heartbeat.name,
        "period": 600,
        "grace": 60,
        "cron": "",
        "timezone": "UTC",
        "email": "on",
        "maintenance_days": "[]",
        "maintenance_timezone": "UTC",
        "pings-TOTAL_FORMS": "0",
        "pings-INITIAL_FORMS": "0",
        "pings-MIN_NUM_FORMS": "0",
        "pings-MAX_NUM_FORMS": "0",
    }

    response = operator_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Heartbeat.objects.get(pk=heartbeat.pk).alert_after == last_ping_at + timedelta(seconds=660)


def test_an_invalid_cron_expression_is_refused_with_a_reason(operator_client, heartbeat, team):
    url = reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])
    form = {
        "team": team.pk,
        "name": heartbeat.name,
        "period": 60,
        "grace": 30,
        "cron": "61 * * * *",
        "timezone": "Mars/Olympus",
        "maintenance_days": "[]",
        "maintenance_timezone": "UTC",
        "pings-TOTAL_FORMS": "0",
        "pings-INITIAL_FORMS": "0",
        "pings-MIN_NUM_FORMS": "0",
        "pings-MAX_NUM_FORMS": "0",
    }

    page = operator_client.post(url, form).content.decode()

    assert "Invalid cron expression" in page
    assert "Unknown time zone" in page


def test_a_period_below_the_minimum_check_frequency_is_refused(operator_client, heartbeat, team, settings):
    settings.PHAROS_MIN_CHECK_FREQUENCY = 30
    url = reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])
    form = {
        "team": team.pk,
        "name": heartbeat.name,
        "period": 29,
        "grace": 0,
        "cron": "",
        "timezone": "UTC",
        "maintenance_days": "[]",
        "maintenance_timezone": "UTC",
        "pings-TOTAL_FORMS": "0",
        "pings-INITIAL_FORMS": "0",
        "pings-MIN_NUM_FORMS": "0",
        "pings-MAX_NUM_FORMS": "0",
    }

    page = operator_client.post(url, form).content.decode()

    assert "at least 30 seconds" in page
    assert Heartbeat.objects.get(pk=heartbeat.pk).period == 60


def _add_form(team, **fields):
    form = {
        "team": team.pk,
        "name": "nightly backup",
        "period": 3600,
        "grace": 300,
        "cron": "",
        "timezone": "UTC",
        "email": "on",
        "maintenance_days": "[]",
        "maintenance_timezone": "UTC",
        "pings-TOTAL_FORMS": "0",
        "pings-INITIAL_FORMS": "0",
        "pings-MIN_NUM_FORMS": "0",
        "pings-MAX_NUM_FORMS": "0",
    }
    return {**form, **fields}


def test_the_ping_url_shown_on_the_add_form_is_the_one_that_gets_saved(operator_client, team):
    add_url = reverse("admin:heartbeats_heartbeat_add")
    page = operator_client.get(add_url).content.decode()
    shown = re.search(r"/api/v1/heartbeat/([A-Za-z0-9_-]{20,})", page).group(1)
    signed = re.search(r'name="shown_token" value="([^"]+)"', page).group(1)

    response = operator_client.post(add_url, _add_form(team, shown_token=signed))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert Heartbeat.objects.get().token == shown


def test_a_shown_token_that_was_altered_is_refused(operator_client, team):
    signed = signing.dumps("chosen-by-the-client-0123456789", salt="not-the-form-salt")

    response = operator_client.post(reverse("admin:heartbeats_heartbeat_add"), _add_form(team, shown_token=signed))

    assert response.status_code == 200 and "reload it for a new ping URL" in response.content.decode()
    assert not Heartbeat.objects.exists()


def test_saving_the_same_add_form_twice_does_not_reuse_the_ping_url(operator_client, team):
    add_url = reverse("admin:heartbeats_heartbeat_add")
    signed = re.search(r'name="shown_token" value="([^"]+)"', operator_client.get(add_url).content.decode()).group(1)
    operator_client.post(add_url, _add_form(team, shown_token=signed))

    again = operator_client.post(add_url, _add_form(team, shown_token=signed, name="copy"))

    assert again.status_code == 200 and "already belongs to a saved heartbeat" in again.content.decode()
    assert Heartbeat.objects.count() == 1


def test_the_page_offers_the_ping_url_to_copy_and_curl_lines_to_paste(operator_client, heartbeat):
    page = operator_client.get(reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])).content.decode()

    url = heartbeat.ping_url
    assert f'id="pharos-ping-url" type="text" readonly value="{url}"' in page  # selectable without JS
    assert ">Copy</button>" in page and "<script src" not in page.split("pharos-ping-url")[1][:2000]
    assert f'-d "$output" "{url}/$?"' in page.replace("&quot;", '"')
    assert f'"{url}/start"' in page.replace("&quot;", '"')


def test_a_cron_heartbeat_shows_its_next_five_runs_in_its_zone(operator_client, make_heartbeat):
    heartbeat = make_heartbeat(cron="30 2 * * *", timezone="Europe/Prague")

    page = operator_client.get(reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])).content.decode()

    runs = re.findall(r"<li>\w{3} \d{4}-\d\d-\d\d 02:30 (CET|CEST)</li>", page)
    assert len(runs) == 5


def test_the_expected_next_ping_follows_the_last_ping(operator_client, make_heartbeat):
    last = timezone.now() - timedelta(seconds=10)
    heartbeat = make_heartbeat(status="up", last_ping_at=last, alert_after=last + timedelta(seconds=90))

    page = operator_client.get(reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])).content.decode()

    due = (last + timedelta(seconds=60)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"next ping by {due} (in " in page


def test_the_timeline_draws_each_outage_as_a_red_period(operator_client, heartbeat, team):
    from alerts.models import Incident

    now = timezone.now()
    Incident.objects.create(
        team=team,
        source_type="heartbeat",
        source_id=heartbeat.pk,
        cause="No ping",
        started_at=now - timedelta(hours=5),
        resolved_at=now - timedelta(hours=4),
        status="Resolved",
    )

    page = operator_client.get(reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])).content.decode()

    assert page.count('fill="#cf222e"><title>down') == 1


def test_a_ping_shows_its_run_duration_and_pings_cannot_be_added_or_edited(operator_client, heartbeat):
    ping = Ping.objects.create(
        heartbeat=heartbeat, created_at=timezone.now(), kind="fail", exit_code=2, method="POST", duration=12.34
    )

    page = operator_client.get(reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])).content.decode()
    assert "12.3 s" in page
    assert operator_client.get(reverse("admin:heartbeats_ping_add")).status_code == 403
    ping_page = operator_client.get(reverse("admin:heartbeats_ping_change", args=[ping.pk])).content.decode()
    assert 'name="_save"' not in ping_page


def test_a_down_heartbeat_says_what_brings_it_back_up(operator_client, make_heartbeat):
    heartbeat = make_heartbeat(status="down", last_ping_at=timezone.now())

    page = operator_client.get(reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk])).content.decode()

    assert "down: the next success ping brings it back up" in page


def test_the_add_form_chooses_the_only_team(operator_client, team):
    page = operator_client.get(reverse("admin:heartbeats_heartbeat_add")).content.decode()

    assert f'<option value="{team.pk}" selected>' in page


def test_a_ping_recorded_while_the_admin_form_was_saved_survives_the_save(
    operator_client, make_heartbeat, team, write_after_the_admin_reads
):
    heartbeat = make_heartbeat(status="down")
    pinged_at = timezone.now()
    write_after_the_admin_reads(
        HeartbeatAdmin, Heartbeat, status="up", last_ping_at=pinged_at, alert_after=pinged_at + timedelta(seconds=90)
    )

    response = operator_client.post(
        reverse("admin:heartbeats_heartbeat_change", args=[heartbeat.pk]),
        _add_form(team, name="renamed in the admin", period=heartbeat.period, grace=heartbeat.grace),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    saved = Heartbeat.objects.get(pk=heartbeat.pk)
    assert saved.name == "renamed in the admin"
    assert (saved.status, saved.last_ping_at, saved.alert_after) == ("up", pinged_at, pinged_at + timedelta(seconds=90))
