"""A region worker bounds every check whatever its spec says (defence in depth): a spec
from an old control plane could carry a request_timeout of 2^31 s."""

import pytest

from monitors import types
from probes import runner
from probes.runner import PROBES, deadline_of, timeout_ceiling
from tests.probes.conftest import make_spec

HUGE = 2**31 - 1


def test_a_huge_http_timeout_is_cut_to_60_s():
    assert deadline_of(make_spec(type="status", target="x", timeout=HUGE)) == 60


@pytest.mark.parametrize("monitor_type", ["tcp", "udp", "ping", "dns", "smtp", "pop", "imap"])
def test_a_huge_timeout_of_the_other_types_is_cut_to_5_s(monitor_type):
    assert deadline_of(make_spec(type=monitor_type, target="x", timeout=HUGE / 1000)) == 5


def test_every_type_the_control_plane_accepts_has_a_probe():
    assert set(types.REGISTRY) == set(PROBES)


@pytest.mark.parametrize("monitor_type", sorted(types.REGISTRY))
def test_the_control_planes_largest_timeout_fits_under_the_workers_ceiling(monitor_type):
    # One rule in two places (the worker cannot import the control plane): keep them agreed.
    largest = types.timeout_seconds(monitor_type, types.timeout_range(monitor_type).high)
    assert largest == timeout_ceiling(monitor_type)


def test_the_ceiling_is_what_a_running_check_waits_for(check, http_server, monkeypatch):
    monkeypatch.setattr(runner, "HTTP_TIMEOUT_CEILING", 0.3)  # a real 60 s wait would only slow the suite
    outcome = check(target=http_server.route("/", hang=True), timeout=HUGE)
    assert (outcome.status, outcome.cause) == ("down", "Timeout after 0.3 s")
