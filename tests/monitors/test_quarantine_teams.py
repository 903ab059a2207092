"""No single team can quarantine a region while other teams have monitors there
(monitors.quarantine): each team's lone failures count for at most half the threshold.

The first test plays the finding end to end with real probes: ten loopback hosts of one
team answer 503 only to the probe that says ``X-Pharos-Region: eu``; the rounds go through
the real tick, real probes from each region and the real aggregator.
"""

from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident
from monitors.aggregator import record_outcomes
from monitors.models import Monitor, RegionQuarantine
from monitors.scheduler import TickReport, claim_due_chunk
from probes.runner import ProbeContext, Runner
from probes.spec import results_message
from teams.models import Team
from tests.monitors.conftest import T0, play
from tests.probes.conftest import run_on_worker_loop
from tests.probes.servers import HttpServer, ServerLoop, free_port

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
EU_ALONE = {"us": "up", "eu": "down", "as": "up"}
REGIONS = ("us", "eu", "as")


@pytest.fixture(autouse=True)
def three_regions(settings):
    settings.PHAROS_REGIONS = list(REGIONS)
    settings.PHAROS_QUARANTINE_TARGETS = 10
    settings.PHAROS_CANARY_URLS = []
    settings.PHAROS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture(scope="module")
def server_loop():
    loop = ServerLoop()
    yield loop
    loop.stop()


@pytest.fixture
def region_hostile_hosts(server_loop):
    """Ten distinct loopback hosts whose page answers 503 to the eu probe only."""
    servers = [HttpServer(server_loop, host=f"127.0.0.{i}") for i in range(2, 12)]
    urls = [server.route("/", region_status={"eu": 503}) for server in servers]
    yield urls
    for server in servers:
        server.close()


def run_due_rounds(*, now):
    """One tick's rounds, each spec run by a real probe of its region, each region's
    outcomes through the real aggregator."""
    specs, _ = claim_due_chunk(now=now, chunk_size=1000, report=TickReport())
    by_region = defaultdict(list)
    for spec in specs:
        by_region[spec.region].append(spec.to_dict())
    for region, region_specs in by_region.items():
        context = ProbeContext(region=region, allow_private_targets=True)

        async def run(context=context, region_specs=region_specs):
            return await Runner(context, concurrency=20).run_batch(region_specs)

        outcomes = run_on_worker_loop(run())
        record_outcomes(results_message(region=region, outcomes=outcomes), now=timezone.now())


def test_ten_hosts_of_one_team_failing_only_from_eu_do_not_quarantine_eu_and_another_teams_eu_monitor_still_alerts(
    team, region_hostile_hosts
):
    other_team = Team.objects.create(name="Another customer")
    now = timezone.now()
    for url in region_hostile_hosts:
        Monitor.objects.create(team=team, url=url, regions=list(REGIONS), next_check_at=now, recovery_period=0)
    refused = Monitor.objects.create(
        team=other_team,
        url="127.0.0.1",
        monitor_type="tcp",
        port=str(free_port()),
        regions=["eu"],
        request_timeout=2000,
        next_check_at=now + timedelta(days=1),  # checked below, once the hostile rounds closed
    )

    run_due_rounds(now=now)

    assert RegionQuarantine.objects.count() == 0
    assert set(Monitor.objects.filter(team=team).values_list("status", flat=True)) == {"up"}
    Monitor.objects.filter(pk=refused.pk).update(next_check_at=timezone.now())
    run_due_rounds(now=timezone.now())
    incident = Incident.objects.get(source_id=refused.pk)
    assert (incident.cause, incident.regions) == ("Connection refused", ["eu"])


# --- how the rule counts ------------------------------------------------------------------


def fail_alone(monitors, *, at=T0):
    for index, monitor in enumerate(monitors):
        play(monitor, at + index * S, EU_ALONE)


@pytest.fixture
def two_teams(team):
    other = Team.objects.create(name="Another customer")
    Monitor.objects.create(team=other, url="https://other.example.org/", regions=["eu"], next_check_at=T0 + 3600 * S)
    return team, other


def make_team_monitors(team, count, prefix):
    return [
        Monitor.objects.create(
            team=team,
            url=f"https://{prefix}-{i}.example.net/",
            regions=list(REGIONS),
            next_check_at=T0,
            recovery_period=0,
        )
        for i in range(count)
    ]


def test_one_teams_lone_failures_count_for_half_the_threshold_while_other_teams_check_from_the_region(two_teams):
    team, _ = two_teams
    fail_alone(make_team_monitors(team, 20, "mine"))
    assert not RegionQuarantine.objects.exists()


def test_lone_failures_of_several_teams_still_quarantine_a_broken_region(two_teams):
    team, other = two_teams
    fail_alone(make_team_monitors(team, 5, "mine") + make_team_monitors(other, 5, "theirs"))
    active = RegionQuarantine.objects.get(released_at__isnull=True)
    assert (active.region, active.details) == ("eu", {"targets": 10, "teams": 2})


def test_with_a_single_team_every_target_counts_as_before(team):
    fail_alone(make_team_monitors(team, 10, "mine"))
    assert RegionQuarantine.objects.get().region == "eu"


def test_a_team_whose_other_monitors_are_paused_does_not_count_as_present(two_teams):
    team, other = two_teams
    Monitor.objects.filter(team=other).update(paused_at=T0)
    fail_alone(make_team_monitors(team, 10, "mine"))
    assert RegionQuarantine.objects.get().region == "eu"


def test_a_canary_still_quarantines_on_its_own(two_teams, settings):
    team, _ = two_teams
    settings.PHAROS_CANARY_URLS = ["https://canary.pharos.example/"]
    fail_alone(
        [
            Monitor.objects.create(
                team=team, url="https://canary.pharos.example/", regions=list(REGIONS), next_check_at=T0
            )
        ]
    )
    assert (RegionQuarantine.objects.get().reason) == "canary"
