"""/status/<subdomain>/feed.atom: an Atom feed (RFC 4287) of the page's incidents and reports,
read with xml.etree as a feed reader would, and held to what the page may show."""

from datetime import timedelta
from xml.etree import ElementTree as ET

from django.utils import timezone

from status.feeds import MAX_ENTRIES
from status.models import StatusReport, StatusUpdate
from status.page_cache import refresh_team
from tests.status.conftest import maintenance_on_api, open_outage, protect

A = "{http://www.w3.org/2005/Atom}"


def _feed(client, path="/status/eleva/feed.atom", **extra):
    response = client.get(path, **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    return ET.fromstring(response.content)


def _entries(feed):
    return [
        {
            "id": entry.findtext(f"{A}id"),
            "title": entry.findtext(f"{A}title"),
            "updated": entry.findtext(f"{A}updated"),
            "published": entry.findtext(f"{A}published"),
            "category": entry.find(f"{A}category").get("term"),
            "link": entry.find(f"{A}link").get("href"),
            "content": entry.findtext(f"{A}content"),
        }
        for entry in feed.findall(f"{A}entry")
    ]


def _report(page, resource, *, title, hours_ago, ended_hours_ago=None, updates=()):
    now = timezone.now()
    report = StatusReport.objects.create(
        status_page=page,
        title=title,
        starts_at=now - timedelta(hours=hours_ago),
        ends_at=None if ended_hours_ago is None else now - timedelta(hours=ended_hours_ago),
        affected_resources=[{"status_page_resource_id": str(resource.pk), "status": "degraded"}],
    )
    for minutes_ago, message in updates:
        StatusUpdate.objects.create(
            status_report=report, message=message, published_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
    return report


def test_the_feed_has_an_entry_per_incident_and_report_newest_first(client, built_page):
    now = timezone.now()
    ongoing = open_outage(built_page["api"], at=now - timedelta(minutes=5))
    report = _report(
        built_page["page"],
        built_page["resources"]["backup"],
        title="Backups are slow",
        hours_ago=3,
        updates=[(170, "We are looking into it."), (60, "A fix is rolling out.")],
    )

    feed = _feed(client)

    assert feed.tag == f"{A}feed"
    assert feed.findtext(f"{A}title") == "Eleva Care status"
    assert feed.findtext(f"{A}id").startswith("tag:pharos.example.com,")
    assert feed.findtext(f"{A}author/{A}name") == "Eleva Care"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{A}link")}
    assert links == {
        "alternate": "https://pharos.example.com/status/eleva/",
        "self": "https://pharos.example.com/status/eleva/feed.atom",
    }
    entries = _entries(feed)
    assert [entry["title"] for entry in entries] == [
        "Public API went down",  # began 5 minutes ago
        "Backups are slow",  # began 3 hours ago
        "Website went down (resolved)",  # began yesterday
    ]
    assert [entry["category"] for entry in entries] == ["incident", "report", "incident"]
    assert entries[0]["published"] == entries[0]["updated"]
    assert entries[0]["id"].endswith(f"/incident-{ongoing.pk}")
    assert entries[1]["id"].endswith(f"/report-{report.pk}")
    assert entries[1]["link"] == f"https://pharos.example.com/status/eleva/#report-{report.pk}"
    assert "A fix is rolling out." in entries[1]["content"] and "We are looking into it." in entries[1]["content"]
    assert entries[1]["content"].index("A fix is rolling out.") < entries[1]["content"].index("We are looking")
    assert "Affected: Public API" in entries[0]["content"] and "Ongoing since" in entries[0]["content"]
    assert "45 min" in entries[2]["content"]
    assert feed.findtext(f"{A}updated") == max(entry["updated"] for entry in entries)
    assert len({entry["id"] for entry in entries}) == 3


def test_no_internal_url_cause_response_or_region_reaches_the_feed(client, built_page):
    open_outage(built_page["api"], at=timezone.now(), regions=("frankfurt-9", "virginia-3"))

    body = client.get("/status/eleva/feed.atom").content.decode()

    assert "Public API went down" in body
    for secret in ("internal-admin", "secret-backend", "hunter2", "api.eleva.care", "web-prod-1", "api-1"):
        assert secret not in body, secret
    assert "frankfurt-9" not in body and "virginia-3" not in body


def test_a_page_that_opts_in_names_the_regions_in_the_feed(client, built_page):
    page = built_page["page"]
    page.show_region_names = True
    page.save()
    open_outage(built_page["api"], at=timezone.now(), regions=("frankfurt-9", "virginia-3"))

    entry = _entries(_feed(client))[0]

    assert entry["title"] == "Public API went down"
    assert "Seen from frankfurt-9, virginia-3" in entry["content"]


def test_the_feed_is_bounded_to_fifty_entries_within_the_history(client, built_page):
    page, resource = built_page["page"], built_page["resources"]["website"]
    for number in range(MAX_ENTRIES + 5):
        _report(page, resource, title=f"Report {number}", hours_ago=number + 1, ended_hours_ago=number)
    # Before the page's 30 days of history:
    _report(page, resource, title="Long ago", hours_ago=24 * 40, ended_hours_ago=24 * 40 - 1)

    entries = _entries(_feed(client))

    assert len(entries) == MAX_ENTRIES
    assert [entry["title"] for entry in entries[:2]] == ["Report 0", "Report 1"]
    assert "Long ago" not in [entry["title"] for entry in entries]


def test_planned_maintenance_is_in_the_feed(client, built_page):
    report = maintenance_on_api(
        built_page, starts_at=timezone.now() + timedelta(hours=2), ends_at=timezone.now() + timedelta(hours=3)
    )

    entries = {entry["id"].rsplit("/", 1)[1]: entry for entry in _entries(_feed(client))}

    assert entries[f"report-{report.pk}"]["title"] == "Planned maintenance: Database upgrade"
    assert entries[f"report-{report.pk}"]["category"] == "maintenance"


def test_text_is_escaped_and_control_characters_dropped(client, built_page):
    _report(
        built_page["page"],
        built_page["resources"]["api"],
        title='<script>alert("x")</script> & co\x07',
        hours_ago=1,
        updates=[(30, "<b>bold</b> & \x01done")],
    )

    entry = _entries(_feed(client))[0]  # parsed: the document is well-formed

    assert entry["title"] == '<script>alert("x")</script> & co'
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; done" in entry["content"]  # HTML content, the message as text


def test_a_new_incident_reaches_the_cached_feed_with_the_pages_refresh(client, built_page):
    assert len(_entries(_feed(client))) == 1

    open_outage(built_page["api"], at=timezone.now())
    assert len(_entries(_feed(client))) == 1  # still the cached feed: the transaction has not committed
    refresh_team(built_page["page"].team_id)  # what the commit runs

    assert _entries(_feed(client))[0]["title"] == "Public API went down"


def test_a_protected_page_has_no_feed_without_its_cookie(client, built_page):
    protect(built_page["page"])

    refused = client.get("/status/eleva/feed.atom")
    assert refused.status_code == 401 and b"Website" not in refused.content
    assert refused["Cache-Control"] == "private, no-store"

    client.post("/status/eleva/", {"password": "correct horse"})
    assert _entries(_feed(client))[0]["title"] == "Website went down (resolved)"
    assert client.get("/status/eleva/feed.atom")["Cache-Control"] == "private, no-store"


def test_an_unpublished_or_unknown_page_has_no_feed(client, built_page):
    page = built_page["page"]
    page.published = False
    page.save()

    assert client.get("/status/eleva/feed.atom").status_code == 404
    assert client.get("/status/nobody/feed.atom").status_code == 404


def test_the_page_links_to_its_feed_and_each_entry_to_its_place_on_the_page(client, built_page):
    html = client.get("/status/eleva/").content.decode()
    entry = _entries(_feed(client))[0]

    assert '<link rel="alternate" type="application/atom+xml" title="Eleva Care status" href="feed.atom">' in html
    fragment = entry["link"].rsplit("#", 1)[1]
    assert fragment == f"incident-{built_page['past'].pk}" and f'id="{fragment}"' in html


def test_a_custom_domain_serves_the_feed_at_its_root(client, built_page, settings):
    settings.ALLOWED_HOSTS = ["status.eleva.care", "testserver"]
    page = built_page["page"]
    page.custom_domain = "status.eleva.care"
    page.save()

    feed = _feed(client, "/feed.atom", HTTP_HOST="status.eleva.care")

    assert feed.findtext(f"{A}title") == "Eleva Care status"
    assert client.get("/feed.atom").status_code == 404  # any other host
