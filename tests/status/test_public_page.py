"""/status/<subdomain>/ and index.json: what customers see, and what they never see."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from status.models import StatusReport, StatusUpdate
from status.page_cache import TTL, refresh_team
from tests.status.conftest import open_outage


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


def test_noindex_when_hidden_from_search_engines(client, built_page):
    page = built_page["page"]
    assert "noindex" not in client.get("/status/eleva/").content.decode()

    page.hide_from_search_engines = True
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
    page = built_page["page"]
    page.password_enabled = True
    page.set_password("correct horse")
    page.save()

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
    report = StatusReport.objects.create(
        status_page=built_page["page"],
        title="Database upgrade",
        report_type="maintenance",
        starts_at=timezone.now() + timedelta(hours=2),
        ends_at=timezone.now() + timedelta(hours=3),
        affected_resources=[
            {"status_page_resource_id": str(built_page["resources"]["api"].pk), "status": "maintenance"}
        ],
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

    from status.page_cache import cached, generation

    page = built_page["page"]
    assert cached(page, "html", lambda: "first") == "first"
    refresh_team(page.team_id)
    key = f"status:page:{page.pk}:html:{generation(page.team_id)}:{page.updated_at.timestamp()}"
    cache.add(f"{key}:rendering", 1, TTL)  # another worker is rendering the new state

    assert cached(page, "html", lambda: "second") == "first"
    cache.delete(f"{key}:rendering")
    assert cached(page, "html", lambda: "third") == "third"
