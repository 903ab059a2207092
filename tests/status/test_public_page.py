"""/status/<subdomain>/ and index.json: what customers see, and what they never see."""

import gzip
import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from status.models import StatusUpdate
from status.page_cache import TTL, refresh_team
from tests.status.conftest import maintenance_on_api, open_outage, protect


def test_the_page_shows_each_resource_its_bars_and_the_aggregate_state(client, built_page):
    response = client.get("/status/eleva/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state="operational"' in html
    assert html.count('class="bar ') == 30 * 3  # a bar per day of history per resource
    assert "Website" in html and "Public API" in html and "Backups" in html
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert f'title="{yesterday}: Downtime, 45 min downtime, 0 min maintenance"' in html
    assert "Website went down" in html  # past incidents, under the public name


def test_every_bar_has_a_tooltip_and_days_with_downtime_or_maintenance_give_their_minutes(client, built_page):
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    two_days_ago = today - timedelta(days=2)
    maintenance_on_api(
        built_page, starts_at=two_days_ago + timedelta(hours=2), ends_at=two_days_ago + timedelta(hours=3, minutes=30)
    )

    html = client.get("/status/eleva/").content.decode()

    assert html.count('class="bar ') == len(re.findall(r'<div class="bar \w+" title="[^"]+"></div>', html)) == 30 * 3
    day = two_days_ago.date().isoformat()
    assert f'<div class="bar maintenance" title="{day}: Under maintenance, 0 min downtime, 90 min maintenance">' in html
    assert f'<div class="bar operational" title="{day}: Operational"></div>' in html  # the website that day
    yesterday = (today - timedelta(days=1)).date().isoformat()
    assert f'<div class="bar downtime" title="{yesterday}: Downtime, 45 min downtime, 0 min maintenance">' in html


def test_an_incident_opened_a_moment_ago_turns_todays_bar_red_at_once(client, built_page):
    open_outage(built_page["api"], at=timezone.now())

    html = client.get("/status/eleva/").content.decode()
    document = client.get("/status/eleva/index.json").json()

    assert html.count('class="bar downtime"') == 2  # the website yesterday, the API today
    api = next(item for item in document["included"] if item["attributes"].get("public_name") == "Public API")
    today = api["attributes"]["status_history"][-1]
    assert today["status"] == "downtime"
    assert today["downtime_duration"], "a moment of downtime rounds up to a whole second, never to none"


def test_no_internal_detail_of_an_incident_reaches_the_page_or_the_json(client, built_page):
    open_outage(built_page["api"], at=timezone.now())

    html = client.get("/status/eleva/").content.decode()
    document = client.get("/status/eleva/index.json").content.decode()

    for secret in ("internal-admin", "secret-backend", "hunter2", "api.eleva.care", "web-prod-1", "api-1", '"us"'):
        assert secret not in html, secret
        assert secret not in document, secret
    assert "Public API went down" in html


def test_index_json_has_the_page_its_resources_and_active_incidents(client, built_page):
    open_outage(built_page["api"], at=timezone.now())

    document = client.get("/status/eleva/index.json").json()

    assert document["data"]["attributes"]["aggregate_state"] == "downtime"
    resources = {
        item["attributes"]["public_name"]: item
        for item in document["included"]
        if item["type"] == "status_page_resource"
    }
    assert resources["Public API"]["attributes"]["status"] == "downtime"
    assert resources["Website"]["attributes"]["status"] == "operational"
    assert len(resources["Website"]["attributes"]["status_history"]) == 30
    active = [item for item in document["included"] if item["type"] == "active_incident"]
    assert [item["attributes"]["title"] for item in active] == ["Public API went down"]


def test_a_newly_opened_incident_shows_at_once_though_the_page_was_cached(client, built_page):
    assert 'data-state="operational"' in client.get("/status/eleva/").content.decode()

    with CaptureQueriesContext(connection) as cached_queries:
        client.get("/status/eleva/")
    assert not any("alerts_incident" in query["sql"] for query in cached_queries.captured_queries)

    open_outage(built_page["api"], at=timezone.now())
    # The test's transaction never commits; run what the commit would.
    refresh_team(built_page["page"].team_id)
    assert 'data-state="downtime"' in client.get("/status/eleva/").content.decode()


def test_the_cache_never_keeps_a_page_longer_than_30_seconds():
    assert TTL <= 30


def test_noindex_when_hidden_from_search_engines(client, built_page, django_capture_on_commit_callbacks):
    page = built_page["page"]
    assert "noindex" not in client.get("/status/eleva/").content.decode()

    page.hide_from_search_engines = True
    with django_capture_on_commit_callbacks(execute=True):  # the commit refreshes the cached page
        page.save()
    response = client.get("/status/eleva/")

    assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_the_theme_is_on_the_page(client, built_page):
    page = built_page["page"]
    page.theme = "dark"
    page.save()

    assert 'class="theme-dark"' in client.get("/status/eleva/").content.decode()


def test_a_password_page_asks_for_its_password_and_remembers_it(client, built_page):
    page = protect(built_page["page"])

    asked = client.get("/status/eleva/")
    assert asked.status_code == 401 and b'type="password"' in asked.content and b"Website" not in asked.content
    assert client.get("/status/eleva/index.json").status_code == 401
    wrong = client.post("/status/eleva/", {"password": "wrong horse"})
    assert wrong.status_code == 403 and b"Website" not in wrong.content

    right = client.post("/status/eleva/", {"password": "correct horse"})
    assert right.status_code == 302
    assert b"Website" in client.get("/status/eleva/").content
    assert client.get("/status/eleva/index.json").status_code == 200
    assert right.cookies[f"status_{page.pk}"]["httponly"]

    page.set_password("another horse")  # a new password locks the old cookie out
    page.save()
    assert client.get("/status/eleva/").status_code == 401


def test_an_unpublished_or_unknown_page_is_a_404(client, built_page):
    page = built_page["page"]
    page.published = False
    page.save()

    assert client.get("/status/eleva/").status_code == 404
    assert client.get("/status/nobody/").status_code == 404
    assert client.get("/status/nobody/index.json").status_code == 404


def test_a_maintenance_report_and_its_updates_are_on_the_page(client, built_page):
    report = maintenance_on_api(
        built_page, starts_at=timezone.now() + timedelta(hours=2), ends_at=timezone.now() + timedelta(hours=3)
    )
    StatusUpdate.objects.create(status_report=report, message="Read-only for an hour.", published_at=timezone.now())

    html = client.get("/status/eleva/").content.decode()

    assert "Planned maintenance" in html and "Database upgrade" in html and "Read-only for an hour." in html


def test_a_custom_domain_serves_its_page_at_the_root(client, built_page, settings):
    settings.ALLOWED_HOSTS = ["status.eleva.care", "testserver"]
    page = built_page["page"]
    page.custom_domain = "status.eleva.care"
    page.save()

    html = client.get("/", HTTP_HOST="status.eleva.care").content.decode()
    document = client.get("/index.json", HTTP_HOST="status.eleva.care").json()

    assert "Website" in html and 'data-state="operational"' in html
    assert document["data"]["attributes"]["subdomain"] == "eleva"


def test_the_root_of_any_other_host_leads_to_the_admin(client, built_page):
    response = client.get("/")

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/index.json").status_code == 404


def test_while_one_request_renders_a_stale_page_the_others_get_the_latest_rendering(client, built_page):
    from django.core.cache import cache

    from status.page_cache import generation, rendition

    page = built_page["page"]
    first = rendition(page, "html", lambda: "first")
    assert first.body == b"first"
    refresh_team(page.team_id)
    lock = f"status:page:eleva:html:rendering:{generation(page.team_id)}:{first.rendered_at}"
    cache.add(lock, 1, TTL)  # another worker is rendering the new state

    assert rendition(page, "html", lambda: "second").body == b"first"
    cache.delete(lock)
    assert rendition(page, "html", lambda: "third").body == b"third"


def test_a_cached_page_is_served_without_a_query_and_gzipped_to_a_client_that_accepts_it(client, built_page):
    plain = client.get("/status/eleva/")

    with CaptureQueriesContext(connection) as queries:
        zipped = client.get("/status/eleva/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert queries.captured_queries == []
    assert zipped["Content-Encoding"] == "gzip" and zipped["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.content) == plain.content
    assert len(zipped.content) < len(plain.content) / 4
    assert "Content-Encoding" not in plain and zipped["ETag"] == plain["ETag"]


def test_a_client_holding_the_current_page_gets_a_304_until_the_page_changes(client, built_page):
    etag = client.get("/status/eleva/")["ETag"]

    unchanged = client.get("/status/eleva/", HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert client.get("/status/eleva/index.json", HTTP_IF_NONE_MATCH=etag).status_code == 200  # another document

    open_outage(built_page["api"], at=timezone.now())
    refresh_team(built_page["page"].team_id)  # what the commit would run
    changed = client.get("/status/eleva/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and 'data-state="downtime"' in changed.content.decode()


def test_a_protected_page_is_never_answered_from_the_cache_without_its_cookie(
    client, built_page, django_capture_on_commit_callbacks
):
    assert client.get("/status/eleva/").status_code == 200  # cached while public
    page = built_page["page"]
    page.password_enabled = True
    page.set_password("correct horse")
    with django_capture_on_commit_callbacks(execute=True):
        page.save()

    assert client.get("/status/eleva/").status_code == 401
    assert client.get("/status/eleva/index.json").status_code == 401
