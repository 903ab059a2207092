"""Regions that fail themselves are quarantined; a majority never is."""

from datetime import timedelta

import pytest

from alerts.models import Incident, OperatorEvent
from monitors import quarantine
from monitors.models import RegionQuarantine
from tests.monitors.conftest import DOWN_TWICE, T0, play

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
US_ALONE = {"us": "down", "eu": "up", "as": "up"}


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = ["us", "eu", "as"]
    settings.PHAROS_QUARANTINE_TARGETS = 10
    settings.PHAROS_CANARY_URLS = []


def fail_alone(make_monitor, region_votes, targets, *, at=T0):
    for index in range(targets):
        play(make_monitor(url=f"https://target-{index}.example.net/"), at + index * S, region_votes)


def test_one_region_failing_20_targets_the_others_reach_is_quarantined_and_opens_nothing(make_monitor):
    fail_alone(make_monitor, US_ALONE, 20)
    active = RegionQuarantine.objects.get(released_at__isnull=True)
    assert (active.region, active.reason) == ("us", "lone_failures")
    assert not Incident.objects.exists()
    event = OperatorEvent.objects.get(kind=OperatorEvent.Kind.REGION_QUARANTINED)
    assert event.region == "us"


def test_a_quarantined_regions_down_vote_counts_as_an_error(make_monitor):
    fail_alone(make_monitor, US_ALONE, 10)
    monitor = make_monitor()
    round_ = play(monitor, T0 + 60 * S, DOWN_TWICE)
    assert round_.verdict == "up"
    assert not Incident.objects.exists()


def test_one_region_failing_a_single_target_is_not_quarantined(make_monitor):
    monitor = make_monitor(url="https://geo-blocked.example.net/")
    for step in range(20):
        play(monitor, T0 + step * 30 * S, US_ALONE)
    assert not RegionQuarantine.objects.exists()


def test_many_monitors_on_one_host_are_one_target(make_monitor):
    for index in range(20):
        play(make_monitor(url=f"https://shared.example.net/page-{index}"), T0 + index * S, US_ALONE)
    assert not RegionQuarantine.objects.exists()


def test_two_regions_failing_are_never_quarantined(make_monitor):
    fail_alone(make_monitor, DOWN_TWICE, 20)
    assert not RegionQuarantine.objects.exists()
    assert Incident.objects.count() == 20


def test_quarantine_never_takes_a_majority_of_regions(make_monitor):
    fail_alone(make_monitor, US_ALONE, 10)
    fail_alone(make_monitor, {"us": "up", "eu": "down", "as": "up"}, 10, at=T0 + 100 * S)
    assert list(RegionQuarantine.objects.values_list("region", flat=True)) == ["us"]


def test_a_canary_failing_from_one_region_while_others_reach_it_quarantines_that_region(make_monitor, settings):
    settings.PHAROS_CANARY_URLS = ["https://canary.pharos.example/"]
    play(make_monitor(url="https://canary.pharos.example/"), T0, {"us": "up", "eu": "up", "as": "down"})
    active = RegionQuarantine.objects.get()
    assert (active.region, active.reason) == ("as", "canary")


def test_a_quarantine_ends_after_a_quiet_period_without_lone_failures(make_monitor):
    fail_alone(make_monitor, US_ALONE, 10)
    assert quarantine.release_recovered(now=T0 + 60 * S) == []
    released_at = T0 + 10 * S + quarantine.QUIET_PERIOD + S
    assert quarantine.release_recovered(now=released_at) == ["us"]
    assert RegionQuarantine.objects.get().released_at == released_at
    assert OperatorEvent.objects.filter(kind=OperatorEvent.Kind.REGION_RELEASED, region="us").exists()


def test_a_released_region_votes_again(make_monitor):
    fail_alone(make_monitor, US_ALONE, 10)
    later = T0 + 10 * S + quarantine.QUIET_PERIOD + S
    quarantine.release_recovered(now=later)
    play(make_monitor(), later + S, DOWN_TWICE)
    assert Incident.objects.get().regions == ["us", "eu"]


def test_lone_failures_outside_the_window_do_not_add_up(make_monitor):
    for index in range(10):
        at = T0 + index * (quarantine.LONE_FAILURE_WINDOW / 5)
        play(make_monitor(url=f"https://slow-{index}.example.net/"), at, US_ALONE)
    assert not RegionQuarantine.objects.exists()
