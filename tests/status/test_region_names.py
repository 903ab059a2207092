"""show_region_names: a team may name the regions that saw an automatic incident on its page,
index.json and feed; unless it opts in, no region name ever leaves Pharos."""

from django.utils import timezone

from status.page_cache import refresh_team
from tests.status.conftest import open_outage

REGIONS = ("frankfurt-9", "virginia-3")


def _opt_in(page):
    page.show_region_names = True
    page.save()
    refresh_team(page.team_id)  # what the save's commit runs


def test_by_default_no_region_name_reaches_the_page_json_or_feed(client, built_page):
    open_outage(built_page["api"], at=timezone.now(), regions=REGIONS)

    for path in ("/status/eleva/", "/status/eleva/index.json", "/status/eleva/feed.atom"):
        body = client.get(path).content.decode()
        assert "Public API went down" in body, path
        for region in REGIONS:
            assert region not in body, (path, region)
        assert "Seen from" not in body and '"regions"' not in body, path


def test_an_opted_in_page_names_the_regions_of_an_ongoing_incident(client, built_page):
    _opt_in(built_page["page"])
    incident = open_outage(built_page["api"], at=timezone.now(), regions=REGIONS)

    html = client.get("/status/eleva/").content.decode()
    document = client.get("/status/eleva/index.json").json()

    assert "Seen from frankfurt-9, virginia-3" in html
    active = [item for item in document["included"] if item["type"] == "active_incident"]
    assert [(item["id"], item["attributes"]["regions"]) for item in active] == [
        (f"incident-{incident.pk}", ["frankfurt-9", "virginia-3"])
    ]


def test_an_opted_in_page_names_the_regions_of_past_incidents(client, built_page):
    _opt_in(built_page["page"])

    html = client.get("/status/eleva/").content.decode()

    assert "Website went down" in html
    assert "Seen from us, eu" in html  # the fixture's outage yesterday was seen from us and eu


def test_a_region_name_with_markup_is_escaped(client, built_page):
    _opt_in(built_page["page"])
    open_outage(built_page["api"], at=timezone.now(), regions=("<b>eu</b>",))

    html = client.get("/status/eleva/").content.decode()

    assert "Seen from &lt;b&gt;eu&lt;/b&gt;" in html and "<b>eu</b>" not in html


def test_opting_out_again_hides_them_at_once(client, built_page):
    _opt_in(built_page["page"])
    open_outage(built_page["api"], at=timezone.now(), regions=REGIONS)
    assert "frankfurt-9" in client.get("/status/eleva/").content.decode()

    page = built_page["page"]
    page.show_region_names = False
    page.save()
    refresh_team(page.team_id)

    assert "frankfurt-9" not in client.get("/status/eleva/").content.decode()


def test_the_page_admin_offers_the_switch(client, built_page, django_user_model):
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "correct horse battery")
    client.force_login(operator)

    html = client.get(f"/admin/status/statuspage/{built_page['page'].pk}/change/").content.decode()

    assert 'name="show_region_names"' in html
