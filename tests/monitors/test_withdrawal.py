"""Pausing or deleting a monitor tells the region workers (monitors.withdrawal), after
the commit, wherever it happens: the API, the admin, a deleted team's cascade."""

import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from monitors.models import Monitor, Round
from monitors.withdrawal import WITHDRAWN_NOTE
from probes.withdrawn import FileWithdrawn, RedisWithdrawn
from teams.models import ApiToken
from tests.api.conftest import ApiClient
from tests.ops.helpers import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def withdrawn(settings, redis_url, clean_redis):
    """The withdrawals as a region worker on the suite's Redis would read them."""
    settings.CELERY_BROKER_URL = redis_url
    store = RedisWithdrawn(redis_url)
    return store.read


@pytest.fixture
def api(team, settings):
    settings.PHAROS_API_RATE_LIMIT = 0
    _, raw = ApiToken.issue(team)
    return ApiClient(raw)


def test_pausing_through_the_api_withdraws_the_monitor_after_the_commit(
    api, team, withdrawn, django_capture_on_commit_callbacks
):
    monitor = Monitor.objects.create(team=team, url="https://example.com/")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api.patch(f"/api/v2/monitors/{monitor.pk}", {"paused": True}).status_code == 200
        assert withdrawn() == {}  # nothing before the commit
    for callback in callbacks:
        callback()
    assert list(withdrawn()) == [monitor.pk]
    assert withdrawn()[monitor.pk] >= monitor.created_at.timestamp()


def test_pausing_closes_the_monitors_open_rounds_so_they_raise_no_operator_signal(
    api, team, withdrawn, django_capture_on_commit_callbacks
):
    monitor = Monitor.objects.create(team=team, url="https://example.com/")
    now = timezone.now()
    open_round = Round.objects.create(
        monitor=monitor,
        scheduled_at=now,
        regions=["us"],
        dispatched_at=now,
        deadline=now + timezone.timedelta(seconds=30),
    )
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v2/monitors/{monitor.pk}", {"paused": True})
    open_round.refresh_from_db()
    assert open_round.closed_at is not None
    assert (open_round.verdict, open_round.note) == ("inconclusive", WITHDRAWN_NOTE)


def test_deleting_through_the_api_withdraws_the_monitor(api, team, withdrawn, django_capture_on_commit_callbacks):
    monitor = Monitor.objects.create(team=team, url="https://example.com/")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v2/monitors/{monitor.pk}").status_code == 204
    assert list(withdrawn()) == [monitor.pk]


def test_deleting_a_team_withdraws_every_one_of_its_monitors(team, withdrawn, django_capture_on_commit_callbacks):
    monitors = [Monitor.objects.create(team=team, url=f"https://{i}.example.com/") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        team.delete()
    assert sorted(withdrawn()) == sorted(m.pk for m in monitors)


def test_pausing_from_the_admin_withdraws_the_monitors(
    client, django_user_model, team, withdrawn, django_capture_on_commit_callbacks
):
    client.force_login(django_user_model.objects.create_superuser("op", "op@example.com", "x" * 12))
    monitors = [Monitor.objects.create(team=team, url=f"https://{i}.example.com/") for i in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:monitors_monitor_changelist"),
            {"action": "pause", "_selected_action": [m.pk for m in monitors]},
        )
    assert sorted(withdrawn()) == sorted(m.pk for m in monitors)


def test_resuming_withdraws_nothing_more(api, team, withdrawn, django_capture_on_commit_callbacks):
    monitor = Monitor.objects.create(team=team, url="https://example.com/")
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v2/monitors/{monitor.pk}", {"paused": True})
    first = withdrawn()
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v2/monitors/{monitor.pk}", {"paused": False})
    assert withdrawn() == first


def test_the_quick_starts_on_disk_broker_keeps_withdrawals_in_a_file(
    api, team, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "out")}
    monitor = Monitor.objects.create(team=team, url="https://example.com/")
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v2/monitors/{monitor.pk}", {"paused": True})
    assert list(FileWithdrawn(tmp_path / "withdrawn.json").read()) == [monitor.pk]


def test_a_broker_that_is_away_costs_only_a_warning(api, team, settings, caplog, django_capture_on_commit_callbacks):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    monitor = Monitor.objects.create(team=team, url="https://example.com/")
    with caplog.at_level(logging.WARNING, logger="monitors.withdrawal"):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.patch(f"/api/v2/monitors/{monitor.pk}", {"paused": True})
    assert response.status_code == 200
    assert Monitor.objects.get(pk=monitor.pk).paused_at is not None
    assert "could not tell the region workers" in caplog.text


def test_a_rolled_back_delete_withdraws_nothing(team, withdrawn, django_capture_on_commit_callbacks):
    from django.db import transaction

    paused = Monitor.objects.create(team=team, url="https://paused.example.com/", paused_at=timezone.now())
    kept = Monitor.objects.create(team=team, url="https://kept.example.com/")
    kept_pk = kept.pk
    with django_capture_on_commit_callbacks(execute=True):
        from monitors.withdrawal import withdraw_monitors

        withdraw_monitors([paused.pk], now=timezone.now(), paused=True)
        try:
            with transaction.atomic():
                kept.delete()
                raise RuntimeError("changed my mind")
        except RuntimeError:
            pass
    assert list(withdrawn()) == [paused.pk]
    assert Monitor.objects.filter(pk=kept_pk).exists()


def test_a_whole_team_deleted_is_one_write(team, withdrawn, django_capture_on_commit_callbacks):
    for i in range(50):
        Monitor.objects.create(team=team, url=f"https://{i}.example.com/")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        team.delete()
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(withdrawn()) == 50


def test_pausing_a_monitor_group_withdraws_its_monitors_like_their_own_pause(
    api, team, withdrawn, django_capture_on_commit_callbacks
):
    created = api.post("/api/v2/monitor-groups", {"name": "Shop"})
    group_id = int(created.json()["data"]["id"])
    grouped = [
        Monitor.objects.create(team=team, url=f"https://{i}.example.com/", monitor_group_id=group_id) for i in range(2)
    ]
    outside = Monitor.objects.create(team=team, url="https://outside.example.com/")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.patch(f"/api/v2/monitor-groups/{group_id}", {"paused": True}).status_code == 200
    assert sorted(withdrawn()) == sorted(m.pk for m in grouped)
    assert outside.pk not in withdrawn()
