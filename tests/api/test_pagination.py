"""Lists: pages, per_page limits, and absolute links that keep the other query parameters."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from alerts.models import Incident
from monitors.models import Monitor


@pytest.fixture
def seven_monitors(team):
    Monitor.objects.bulk_create(
        Monitor(team=team, url=f"https://eleva.care/{n}", pronounceable_name="Same") for n in range(7)
    )


def query_of(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_pages_walk_through_every_item_once_with_absolute_links(api, seven_monitors):
    seen, url = [], "/api/v2/monitors?per_page=3&pronounceable_name=Same"
    pages = 0
    while url and pages < 10:
        body = api.get(url).json()
        seen += [item["attributes"]["url"] for item in body["data"]]
        url = body["pagination"]["next"]
        if url:
            assert url.startswith("http://testserver/api/v2/monitors?")
            assert query_of(url)["pronounceable_name"] == "Same"
            assert query_of(url)["per_page"] == "3"
        pages += 1

    assert pages == 3
    assert seen == [f"https://eleva.care/{n}" for n in range(7)]


def test_links_of_a_middle_page(api, seven_monitors):
    pagination = api.get("/api/v2/monitors", {"per_page": 3, "page": 2}).json()["pagination"]

    assert query_of(pagination["first"])["page"] == "1"
    assert query_of(pagination["last"])["page"] == "3"
    assert query_of(pagination["prev"])["page"] == "1"
    assert query_of(pagination["next"])["page"] == "3"


def test_first_page_has_no_prev_and_last_page_no_next(api, seven_monitors):
    first = api.get("/api/v2/monitors", {"per_page": 3}).json()["pagination"]
    last = api.get("/api/v2/monitors", {"per_page": 3, "page": 3}).json()["pagination"]

    assert first["prev"] is None and first["next"] is not None
    assert last["next"] is None and last["prev"] is not None


def test_a_page_past_the_end_is_empty(api, seven_monitors):
    body = api.get("/api/v2/monitors", {"page": 9}).json()

    assert body["data"] == []
    assert query_of(body["pagination"]["last"])["page"] == "1"


def test_per_page_defaults_to_50_and_is_capped_at_250(api, team):
    Monitor.objects.bulk_create(Monitor(team=team, url=f"https://eleva.care/{n}") for n in range(260))

    assert len(api.get("/api/v2/monitors").json()["data"]) == 50
    assert len(api.get("/api/v2/monitors", {"per_page": 1000}).json()["data"]) == 250


def test_incidents_default_to_10_per_page_and_are_capped_at_50(api, team):
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(team=team, source_type="manual", name=f"#{n}", started_at=now) for n in range(55)
    )

    assert len(api.get("/api/v3/incidents").json()["data"]) == 10
    assert len(api.get("/api/v3/incidents", {"per_page": 100}).json()["data"]) == 50


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "two"}, {"per_page": "-1"}])
def test_a_bad_page_parameter_is_a_400(api, params):
    response = api.get("/api/v2/monitors", params)

    assert response.status_code == 400
    assert isinstance(response.json()["errors"], str)


@pytest.mark.parametrize("path", ["/api/v2/monitors", "/api/v2/heartbeats", "/api/v3/incidents", "/api/v3/policies"])
def test_a_list_costs_the_same_few_queries_however_long_it_is(api, team, path, django_assert_max_num_queries):
    from alerts.models import EscalationPolicy
    from heartbeats.models import Heartbeat
    from monitors.models import MonitorRequestHeader

    now = timezone.now()
    monitors = Monitor.objects.bulk_create(Monitor(team=team, url=f"https://eleva.care/{n}") for n in range(20))
    MonitorRequestHeader.objects.bulk_create(MonitorRequestHeader(monitor=m, name="X-N", value="1") for m in monitors)
    Heartbeat.objects.bulk_create(Heartbeat(team=team, name=f"Job {n}") for n in range(20))
    Incident.objects.bulk_create(
        Incident(team=team, source_type="manual", name=f"#{n}", started_at=now) for n in range(20)
    )
    EscalationPolicy.objects.bulk_create(EscalationPolicy(team=team, name=f"P{n}", steps=[]) for n in range(20))
    api.get(path)  # the token's last_used_at is written once a minute; leave that out of the count

    # Token lookup, count, page, and at most one prefetch.
    with django_assert_max_num_queries(4):
        response = api.get(path)
    assert len(response.json()["data"]) >= 10
