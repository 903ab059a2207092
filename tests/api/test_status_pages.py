"""/api/v2/status-pages and /api/v2/status-page-groups: attributes, 422s, tenancy, pagination."""

import pytest
from django.contrib.auth.hashers import identify_hasher

from status.models import StatusPage

ELEVA = {
    "company_name": "Eleva Care",
    "company_url": "https://eleva.care",
    "contact_url": "mailto:support@eleva.care",
    "logo_url": "https://eleva.care/logo.png",
    "timezone": "Europe/Lisbon",
    "subdomain": "eleva",
    "custom_domain": "status.eleva.care",
    "announcement": "Planned database upgrade on Sunday.",
    "announcement_embed_visible": True,
    "history": 30,
    "min_incident_length": 120,
    "subscribable": True,
    "hide_from_search_engines": True,
    "published": True,
    "theme": "dark",
    "layout": "horizontal",
}


@pytest.fixture
def page_id(api):
    response = api.post("/api/v2/status-pages", {"company_name": "Eleva Care", "subdomain": "eleva"})
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def test_a_page_is_created_with_every_attribute_and_read_back(api):
    created = api.post("/api/v2/status-pages", ELEVA)

    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert data["type"] == "status_page"
    fetched = api.get(f"/api/v2/status-pages/{data['id']}").json()["data"]["attributes"]
    for name, value in ELEVA.items():
        assert fetched[name] == value, name
    assert fetched["aggregate_state"] == "operational"
    assert fetched["password_enabled"] is False
    assert fetched["created_at"].endswith("Z") and fetched["updated_at"].endswith("Z")
    assert "password" not in fetched


def test_defaults_of_a_page_created_with_a_name_and_subdomain(api, page_id):
    attributes = api.get(f"/api/v2/status-pages/{page_id}").json()["data"]["attributes"]

    assert attributes["history"] == 90
    assert attributes["theme"] == "light"
    assert attributes["timezone"] == "UTC"
    assert attributes["custom_domain"] is None
    assert (attributes["published"], attributes["subscribable"]) == (True, False)


def test_the_password_is_write_only_and_stored_hashed(api):
    response = api.post(
        "/api/v2/status-pages",
        {"company_name": "Eleva", "subdomain": "secret", "password_enabled": True, "password": "correct horse"},
    )

    assert response.status_code == 201, response.content
    assert "password" not in response.json()["data"]["attributes"]
    page = StatusPage.objects.get(subdomain="secret")
    assert "correct horse" not in page.password_hash
    identify_hasher(page.password_hash)  # a hash Django's hashers know
    assert page.check_password("correct horse")
    assert not page.check_password("wrong horse")


def test_patch_changes_only_what_was_sent(api, page_id):
    response = api.patch(f"/api/v2/status-pages/{page_id}", {"announcement": "All good", "theme": "system"})

    assert response.status_code == 200, response.content
    attributes = response.json()["data"]["attributes"]
    assert (attributes["announcement"], attributes["theme"], attributes["subdomain"]) == ("All good", "system", "eleva")


INVALID_PAGES = [
    ("company_name", {"company_name": ""}),
    ("subdomain", {"subdomain": "Not a slug!"}),
    ("subdomain", {"subdomain": "-leading-hyphen"}),
    ("subdomain", {"subdomain": "x" * 64}),
    ("custom_domain", {"custom_domain": "not a host"}),
    ("custom_domain", {"custom_domain": "http://status.eleva.care/"}),
    ("history", {"history": 6}),
    ("history", {"history": 366}),
    ("min_incident_length", {"min_incident_length": -1}),
    ("theme", {"theme": "sepia"}),
    ("layout", {"layout": "diagonal"}),
    ("timezone", {"timezone": "Mars/Olympus"}),
    ("company_url", {"company_url": "not a url"}),
    ("password", {"password_enabled": True}),
    ("password", {"password_enabled": True, "password": "short"}),
    ("status_page_group_id", {"status_page_group_id": "424242"}),
    ("aggregate_stat", {"aggregate_stat": "operational"}),
]


@pytest.mark.parametrize("attribute, change", INVALID_PAGES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(INVALID_PAGES)])
def test_an_invalid_page_attribute_is_a_422_naming_it_and_nothing_is_saved(api, attribute, change):
    response = api.post("/api/v2/status-pages", {"company_name": "Eleva", "subdomain": "eleva", **change})

    assert response.status_code == 422, response.content
    assert attribute in response.json()["errors"]
    assert StatusPage.objects.count() == 0


def test_a_subdomain_or_custom_domain_already_taken_is_a_422(api, other_api):
    assert other_api.post("/api/v2/status-pages", ELEVA).status_code == 201

    subdomain = api.post("/api/v2/status-pages", {"company_name": "Mine", "subdomain": "ELEVA"})
    domain = api.post(
        "/api/v2/status-pages", {"company_name": "Mine", "subdomain": "mine", "custom_domain": "status.eleva.care"}
    )

    assert subdomain.status_code == 422 and "subdomain" in subdomain.json()["errors"]
    assert domain.status_code == 422 and "custom_domain" in domain.json()["errors"]


def test_another_teams_page_is_a_404_for_every_method_and_every_path_under_it(api, other_api, page_id):
    assert other_api.get(f"/api/v2/status-pages/{page_id}").status_code == 404
    assert other_api.patch(f"/api/v2/status-pages/{page_id}", {"announcement": "x"}).status_code == 404
    assert other_api.delete(f"/api/v2/status-pages/{page_id}").status_code == 404
    for child in ("sections", "resources", "status-reports"):
        assert other_api.get(f"/api/v2/status-pages/{page_id}/{child}").status_code == 404, child
        assert other_api.post(f"/api/v2/status-pages/{page_id}/{child}", {"name": "x"}).status_code == 404, child
    assert other_api.get("/api/v2/status-pages").json()["data"] == []
    assert api.get(f"/api/v2/status-pages/{page_id}").status_code == 200


def test_pages_are_paginated(api):
    for number in range(3):
        api.post("/api/v2/status-pages", {"company_name": f"Page {number}", "subdomain": f"page-{number}"})

    first = api.get("/api/v2/status-pages", {"per_page": 2}).json()
    second = api.get(first["pagination"]["next"]).json()

    assert [item["attributes"]["subdomain"] for item in first["data"]] == ["page-0", "page-1"]
    assert [item["attributes"]["subdomain"] for item in second["data"]] == ["page-2"]
    assert second["pagination"]["next"] is None


def test_deleting_a_page_deletes_what_hangs_under_it(api, page_id):
    api.post(f"/api/v2/status-pages/{page_id}/sections", {"name": "API"})

    assert api.delete(f"/api/v2/status-pages/{page_id}").status_code == 204
    assert api.get(f"/api/v2/status-pages/{page_id}").status_code == 404
    assert api.get(f"/api/v2/status-pages/{page_id}/sections").status_code == 404


def test_status_page_groups_crud_and_a_page_in_a_group(api, other_api):
    created = api.post("/api/v2/status-page-groups", {"name": "Customers", "sort_index": 2})
    assert created.status_code == 201, created.content
    group = created.json()["data"]
    assert group["type"] == "status_page_group"
    assert group["attributes"]["name"] == "Customers" and group["attributes"]["sort_index"] == 2

    page = api.post(
        "/api/v2/status-pages", {"company_name": "E", "subdomain": "e", "status_page_group_id": group["id"]}
    )
    assert page.json()["data"]["attributes"]["status_page_group_id"] == group["id"]
    assert (
        api.patch(f"/api/v2/status-page-groups/{group['id']}", {"name": "Clients"}).json()["data"]["attributes"]["name"]
        == "Clients"
    )
    assert other_api.get(f"/api/v2/status-page-groups/{group['id']}").status_code == 404
    assert (
        other_api.post(
            "/api/v2/status-pages", {"company_name": "x", "subdomain": "x", "status_page_group_id": group["id"]}
        ).status_code
        == 422
    )
    assert api.get("/api/v2/status-page-groups").json()["data"][0]["id"] == group["id"]
    assert api.delete(f"/api/v2/status-page-groups/{group['id']}").status_code == 204
    assert (
        api.get(f"/api/v2/status-pages/{page.json()['data']['id']}").json()["data"]["attributes"][
            "status_page_group_id"
        ]
        is None
    )


def test_a_page_group_name_with_a_line_break_is_a_422(api):
    response = api.post("/api/v2/status-page-groups", {"name": "a\nb"})

    assert response.status_code == 422 and "name" in response.json()["errors"]
